//! Node configuration: TOML files in the config directory, validated with file:line:column errors.
