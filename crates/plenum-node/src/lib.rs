//! plenum-node (skeleton).
