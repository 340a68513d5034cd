//! Errors: bad tokens, an unreachable or silent server, TLS, tokens never on argv.
