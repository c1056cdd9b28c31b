package rules

// ClientID is the OAuth client ID of the SharedApplication called name that
// the organization registering registers (the application lives in that
// organization's namespace); root is the name of the installation's root
// organization.
//
// An application of the root keeps its plain name. Any other organization's
// application is qualified by the organization, "<organization>/<name>":
// an object name cannot contain '/', and organization names are unique in
// the installation, so no organization can register a client ID that the
// root, or another organization, uses or may use later.
func ClientID(root, registering, name string) string {
	if registering == root {
		return name
	}
	return registering + "/" + name
}
