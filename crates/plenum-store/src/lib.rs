//! plenum-store (skeleton).
