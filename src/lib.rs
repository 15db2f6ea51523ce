//! Root package: owns the workspace integration tests and benches.
