// Package password holds what Gatehouse does with passwords that needs no
// Manager: the argon2id and bcrypt hashers ([Argon2id], [Bcrypt]), the
// policy for new passwords ([Policy], with its built-in blocklist of common
// passwords) and Unicode normalization ([Normalize]).
//
// Package auth uses it for its defaults and re-exports its errors; an
// application imports it to choose hasher parameters
// (auth.Config.Password.Hasher = password.NewArgon2id(...)), to tune the policy
// (auth.Config.Password.Policy), or to check a password the same way outside a
// Manager. The hashers satisfy auth.Hasher and auth.RehashChecker. Nothing
// here does I/O, and every value is safe for concurrent use.
package password
