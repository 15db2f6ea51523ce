//! The `plenum` binary: a thin main over plenum-node.
fn main() {}
