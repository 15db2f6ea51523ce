//! Password hashing for admin users (`plenum hash-password`) and checking a password
//! against a stored argon2id PHC string.

use std::io::BufRead;

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString};

/// Why a password could not be hashed.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("cannot read the password: {0}")]
    Read(#[source] std::io::Error),
    #[error("the password is empty")]
    Empty,
    #[error("cannot hash the password: {0}")]
    Hash(#[source] argon2::password_hash::Error),
}

/// Reads one line (the trailing newline is not part of the password) and returns its
/// argon2id PHC string, with default parameters and a random salt.
pub fn hash_password(input: &mut impl BufRead) -> Result<String, PasswordError> {
    let mut line = String::new();
    input.read_line(&mut line).map_err(PasswordError::Read)?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    hash_password_str(password)
}

/// Returns the argon2id PHC string of `password`, with default parameters and a random
/// salt. An empty password is refused.
pub fn hash_password_str(password: &str) -> Result<String, PasswordError> {
    if password.is_empty() {
        return Err(PasswordError::Empty);
    }
    let salt = SaltString::generate(&mut OsRng);
    let hash = Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(PasswordError::Hash)?;
    Ok(hash.to_string())
}

/// Whether `password` matches the PHC string `phc`; false for a malformed `phc`.
pub fn verify_password(phc: &str, password: &str) -> bool {
    match argon2::PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_password_verifies_and_a_wrong_one_does_not() {
        let phc = hash_password(&mut "s3cret pass\n".as_bytes()).expect("hashes");
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password(&phc, "s3cret pass"));
        assert!(!verify_password(&phc, "s3cret pass\n"));
        assert!(!verify_password(&phc, "wrong"));
    }

    #[test]
    fn hash_password_strips_crlf_and_refuses_empty_input() {
        let phc = hash_password(&mut "pw\r\n".as_bytes()).expect("hashes");
        assert!(verify_password(&phc, "pw"));
        assert!(matches!(
            hash_password(&mut "\n".as_bytes()),
            Err(PasswordError::Empty)
        ));
        assert!(matches!(
            hash_password(&mut "".as_bytes()),
            Err(PasswordError::Empty)
        ));
    }

    #[test]
    fn each_hash_gets_its_own_salt() {
        let a = hash_password_str("same").expect("hashes");
        let b = hash_password_str("same").expect("hashes");
        assert_ne!(a, b);
    }

    #[test]
    fn verify_refuses_malformed_hashes() {
        assert!(!verify_password("not a hash", "x"));
        assert!(!verify_password("", ""));
    }
}
