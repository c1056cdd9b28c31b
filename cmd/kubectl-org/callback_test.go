package main

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

func TestCallbackAcceptsOnlyThisSignInsAnswer(t *testing.T) {
	const issuer, state = "https://login.example", "the-state"
	for _, tc := range []struct {
		name       string
		query      url.Values
		path       string
		wantStatus int
		wantCode   string
		wantErr    bool
		wantNone   bool // nothing delivered to the waiting sign-in
	}{
		{"the issuer's answer with this sign-in's state delivers the code",
			url.Values{"state": {state}, "iss": {issuer}, "code": {"c1"}}, "/callback", http.StatusOK, "c1", false, false},
		{"an answer with another state is refused and the sign-in keeps waiting (another page cannot inject a code)",
			url.Values{"state": {"forged"}, "iss": {issuer}, "code": {"evil"}}, "/callback", http.StatusBadRequest, "", false, true},
		{"an answer without state is refused",
			url.Values{"iss": {issuer}, "code": {"evil"}}, "/callback", http.StatusBadRequest, "", false, true},
		{"an answer naming another issuer ends the sign-in with an error (mix-up, RFC 9207)",
			url.Values{"state": {state}, "iss": {"https://evil.example"}, "code": {"c"}}, "/callback", http.StatusBadRequest, "", true, false},
		{"an answer naming no issuer ends the sign-in with an error",
			url.Values{"state": {state}, "code": {"c"}}, "/callback", http.StatusBadRequest, "", true, false},
		{"the issuer's refusal ends the sign-in with its error",
			url.Values{"state": {state}, "iss": {issuer}, "error": {"access_denied"}}, "/callback", http.StatusForbidden, "", true, false},
		{"any other path is not found",
			url.Values{"state": {state}, "iss": {issuer}, "code": {"c"}}, "/other", http.StatusNotFound, "", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan callbackResult, 1)
			h := callbackHandler(issuer, state, done)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.path+"?"+tc.query.Encode(), nil))
			if rec.Code != tc.wantStatus {
				t.Errorf("status %d, want %d", rec.Code, tc.wantStatus)
			}
			select {
			case res := <-done:
				if tc.wantNone {
					t.Fatalf("delivered %+v, want nothing", res)
				}
				if res.code != tc.wantCode || (res.err != nil) != tc.wantErr {
					t.Errorf("delivered %+v, want code %q error %v", res, tc.wantCode, tc.wantErr)
				}
			default:
				if !tc.wantNone {
					t.Fatal("nothing delivered")
				}
			}
		})
	}
}

func TestCallbackTakesTheFirstAnswerOnly(t *testing.T) {
	done := make(chan callbackResult, 1)
	h := callbackHandler("https://i", "s", done)
	for _, code := range []string{"first", "second"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/callback?state=s&iss=https://i&code="+code, nil))
	}
	if res := <-done; res.code != "first" {
		t.Fatalf("got %q, want the first code", res.code)
	}
}
