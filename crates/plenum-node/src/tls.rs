//! TLS material: configured PEM files, or a self-signed certificate created once in the data dir.
