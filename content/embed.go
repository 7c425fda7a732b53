// Package content embeds Parapet's data (rules, playbooks, checks,
// frameworks) so that the binary carries them; commands also accept
// directories that add to or replace them.
package content

import "embed"

// FS holds the embedded content, rooted at this folder.
//
//go:embed README.md rules playbooks checks frameworks attack ueba resources paths all:examples
var FS embed.FS
