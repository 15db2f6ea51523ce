//! plenum-core (skeleton).
