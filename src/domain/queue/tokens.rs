//! Queue tokens: derived from a server secret, never stored.
//!
//! A ticket keeps a random salt and the SHA-256 of its token. The token is
//! HMAC-SHA-256(secret, salt), shaped as a UUIDv4 (122 bits of the MAC).
//! Re-issuing a live ticket derives the same token again (SPEC: same
//! token, same place), a request is authenticated by looking up the hash,
//! and a leaked database hands out no live token: deriving one needs the
//! secret, which lives outside the database.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The keyed state that turns salts into tokens. Its `Debug` shows nothing
/// of the key.
#[derive(Clone)]
pub struct TokenKey(Hmac<Sha256>);

impl TokenKey {
    /// A key from the server secret (any length; HMAC hashes long keys).
    #[must_use]
    pub fn new(secret: &[u8]) -> Self {
        // HMAC accepts keys of every length: `new_from_slice` cannot fail.
        #[allow(clippy::expect_used)]
        Self(Hmac::new_from_slice(secret).expect("HMAC takes any key length"))
    }

    /// A key no other process knows: for an in-memory database, whose
    /// tokens die with the process anyway.
    #[must_use]
    pub fn random() -> Self {
        Self::new(random_secret().as_bytes())
    }

    /// The token of the ticket with this salt.
    #[must_use]
    pub fn derive(&self, salt: &str) -> String {
        let mut mac = self.0.clone();
        mac.update(salt.as_bytes());
        let tag = mac.finalize().into_bytes();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&tag[..16]);
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .to_string()
    }

    /// A fresh salt, the token it derives and the token's hash, for a new
    /// ticket.
    #[must_use]
    pub fn issue(&self) -> Issued {
        let salt = Uuid::new_v4().simple().to_string();
        let token = self.derive(&salt);
        let hash = hash(&token);
        Issued { salt, token, hash }
    }
}

/// A new ticket's token: the salt and hash the database keeps, and the
/// token itself for the reply that hands it out (derived once).
pub struct Issued {
    pub salt: String,
    pub token: String,
    pub hash: String,
}

impl fmt::Debug for Issued {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issued")
            .field("salt", &self.salt)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenKey(..)")
    }
}

/// What the database keeps of a token: SHA-256, in hex.
#[must_use]
pub fn hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// 64 hex digits from 244 random bits (two UUIDv4s), for a new secret.
#[must_use]
pub fn random_secret() -> String {
    format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple())
}

/// Lower-case hex, two digits a byte (by table: through `write!` it was
/// most of the instructions an authenticated request spends on its token).
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|b| [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 0x0f)]])
        .map(char::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_salt_derives_the_same_token_under_the_same_key_only() {
        let key = TokenKey::new(b"one secret");
        let token = key.derive("salt");
        assert_eq!(token, key.derive("salt"), "re-issue returns the same token");
        assert_ne!(token, key.derive("other salt"));
        assert_ne!(token, TokenKey::new(b"another secret").derive("salt"));
        let uuid = Uuid::try_parse(&token).expect("a token is a UUID");
        assert_eq!(uuid.get_version_num(), 4);
    }

    #[test]
    fn the_stored_hash_names_the_token_but_is_not_it() {
        let key = TokenKey::random();
        let Issued {
            salt,
            token,
            hash: stored,
        } = key.issue();
        assert_eq!(token, key.derive(&salt), "the token issued is the salt's");
        assert_eq!(hash(&token), stored);
        assert_eq!(stored.len(), 64);
        assert!(!stored.contains(&token) && !stored.contains(&token.replace('-', "")));
        assert_ne!(key.issue().salt, salt, "salts are random");
    }

    #[test]
    fn a_stored_hash_is_the_lower_case_hex_of_the_token_digest() {
        // SHA-256("abc"), FIPS 180-2's first example.
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
    }

    #[test]
    fn the_key_never_shows_in_debug_output() {
        let key = TokenKey::new(b"hunter2hunter2");
        assert_eq!(format!("{key:?}"), "TokenKey(..)");
    }
}
