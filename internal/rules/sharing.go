package rules

import (
	"fmt"
	"slices"
	"strings"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/validation"
)

// MaxSharingReferenceDepth bounds how many levels below the registering
// organization one entry of spec.sharing.organizations may reach; the
// hierarchy is never that deep in practice, and the bound keeps the CRD's
// length limit honest.
const MaxSharingReferenceDepth = 16

// SharingTarget returns the path from the root (as in Organization
// status.path) of the organization that one entry of
// spec.sharing.organizations names, for an application registered by the
// organization at registeringPath.
//
// References are structural, so that nobody can capture one: a bare name
// names a direct child of the registering organization, and a deeper
// organization is named by its path below it, "acme/acme-eu". An
// organization admin can create organizations only below their own, so the
// only references they can make resolve are ones that already name their
// subtree. The registering organization's own name names itself (it always
// uses its application; with includeSubOrganizations that shares with its
// whole subtree).
func SharingTarget(registeringPath []string, ref string) ([]string, error) {
	if len(registeringPath) == 0 {
		return nil, fmt.Errorf("the registering organization is not in the hierarchy")
	}
	self := registeringPath[len(registeringPath)-1]
	if ref == self {
		return slices.Clone(registeringPath), nil
	}
	segments := strings.Split(ref, "/")
	if len(segments) > MaxSharingReferenceDepth {
		return nil, fmt.Errorf("%q reaches %d levels down; at most %d are allowed", ref, len(segments), MaxSharingReferenceDepth)
	}
	for _, s := range segments {
		if err := validation.DNSLabel(s); err != nil {
			return nil, fmt.Errorf("%q is not an organization name or a path of names below %q: %w", ref, self, err)
		}
	}
	return append(slices.Clone(registeringPath), segments...), nil
}

// Sharing is spec.sharing of one application, resolved against the
// hierarchy.
type Sharing struct {
	// Mode is the effective mode: None when unset. An unknown mode shares
	// with nobody and sets InvalidMode.
	Mode        iamv1.SharingMode
	InvalidMode bool
	// Registering is the path of the registering organization.
	Registering []string
	// Targets are the paths of the organizations that the references of
	// mode Selected resolve to, in list order, without duplicates.
	Targets [][]string
	// IncludeSubOrganizations extends Selected to the targets' descendants.
	IncludeSubOrganizations bool
	// Unresolved are the references that name no organization in the
	// hierarchy (not yet created, misspelt, or malformed), in list order.
	Unresolved []string
}

// ResolveSharing resolves spec.sharing for an application registered by the
// organization at registeringPath. placed reports whether an organization
// with exactly that status.path, below the registering one, is in the
// hierarchy (it owns its namespace).
func ResolveSharing(sh *iamv1.ApplicationSharing, registeringPath []string, placed func(path []string) bool) Sharing {
	out := Sharing{Mode: iamv1.SharingModeNone, Registering: slices.Clone(registeringPath)}
	if sh == nil {
		return out
	}
	switch sh.Mode {
	case "", iamv1.SharingModeNone:
		return out
	case iamv1.SharingModeAll:
		out.Mode = iamv1.SharingModeAll
		return out
	case iamv1.SharingModeSelected:
	default:
		out.InvalidMode = true
		return out
	}
	out.Mode = iamv1.SharingModeSelected
	out.IncludeSubOrganizations = sh.IncludeSubOrganizations
	for _, ref := range sh.Organizations {
		target, err := SharingTarget(registeringPath, ref)
		if err != nil || (!slices.Equal(target, registeringPath) && !placed(target)) {
			if !slices.Contains(out.Unresolved, ref) {
				out.Unresolved = append(out.Unresolved, ref)
			}
			continue
		}
		if !slices.ContainsFunc(out.Targets, func(t []string) bool { return slices.Equal(t, target) }) {
			out.Targets = append(out.Targets, target)
		}
	}
	return out
}

// Includes reports whether the application is shared with the organization
// at path. The registering organization always is; an organization outside
// its subtree never is.
func (s Sharing) Includes(path []string) bool {
	if !isBelowOrAt(path, s.Registering) {
		return false
	}
	if len(path) == len(s.Registering) {
		return true
	}
	switch s.Mode {
	case iamv1.SharingModeAll:
		return true
	case iamv1.SharingModeSelected:
		for _, t := range s.Targets {
			if slices.Equal(t, path) || (s.IncludeSubOrganizations && isBelowOrAt(path, t)) {
				return true
			}
		}
	}
	return false
}

// UnresolvedMessage explains the unresolved references for the
// application's status, or returns "" when every reference resolved.
func (s Sharing) UnresolvedMessage() string {
	if len(s.Unresolved) == 0 {
		return ""
	}
	self := s.Registering[len(s.Registering)-1]
	// Up to 256 entries may be listed: name a few, count the rest.
	const show = 5
	names := quoteAll(s.Unresolved[:min(len(s.Unresolved), show)])
	if more := len(s.Unresolved) - show; more > 0 {
		names = append(names, fmt.Sprintf("%d more", more))
	}
	return fmt.Sprintf("spec.sharing.organizations: %s name no organization below %q; "+
		"a name means a direct child of %q, and a deeper organization is written as its path below it, such as \"child/grandchild\". "+
		"The application is shared with the entries that resolve", strings.Join(names, ", "), self, self)
}

// isBelowOrAt reports whether path is ancestor's path or a descendant's.
func isBelowOrAt(path, ancestor []string) bool {
	return len(ancestor) > 0 && len(path) >= len(ancestor) && slices.Equal(path[:len(ancestor)], ancestor)
}

func quoteAll(items []string) []string {
	out := make([]string, len(items))
	for i, s := range items {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}
