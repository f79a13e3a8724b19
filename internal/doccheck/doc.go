// Package doccheck holds tests of the repository's documents, not code:
// its test walks the module from its root and checks that every citation
// of the security policy (an item "#N", a section "§N", "§N item M" or
// "§N decision M" after the file's name, or a link to one of its anchors)
// names a heading that exists in the repository's SECURITY.md, and that every test the checklist names as
// proof of an item exists. It has no API.
package doccheck
