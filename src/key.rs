//! The service's secret key, kept outside the database (`KHAOSAT_SECRET`
//! or the file `KHAOSAT_SECRET_FILE` names). Everything the store keeps in
//! place of a person or a token — token hashes, the keys of channel users'
//! conversations, open-access credentials, processed message ids — is a
//! keyed hash under it, so a copy of the database alone reveals none of them
//! and cannot be used to test guesses.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// 32 random bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Key([u8; 32]);

/// Why a text is not a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("a key is 64 hexadecimal digits (32 bytes), as `khaosat secret new` writes it")]
    Format,
}

impl Key {
    /// A new random key.
    pub fn generate() -> Self {
        Self(rand::random())
    }

    /// Reads a key as written by [`Key::to_hex`]; white space around it is ignored.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let text = text.trim();
        if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(KeyError::Format);
        }
        let mut bytes = [0u8; 32];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).map_err(|_| KeyError::Format)?;
        }
        Ok(Self(bytes))
    }

    pub fn to_hex(&self) -> String {
        crate::hex::encode(&self.0)
    }

    /// The keyed hash of `value` for one `purpose` (each purpose its own
    /// domain, so no hash made for one can stand for another).
    pub fn mac(&self, purpose: &str, value: &str) -> String {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(purpose.as_bytes());
        mac.update(b"\n");
        mac.update(value.as_bytes());
        crate::hex::encode(&mac.finalize().into_bytes())
    }
}

/// Writes a key to a new file only its owner can read (`0600`); an
/// existing file is left alone (`Ok` all the same: the caller reads it).
pub fn write_new(path: &std::path::Path, key: &Key) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            use anyhow::Context as _;
            writeln!(file, "{}", key.to_hex())
                .with_context(|| format!("writing the key file {}", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => {
            Err(anyhow::Error::new(e).context(format!("creating the key file {}", path.display())))
        }
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_purposes_differ() {
        let k = Key::generate();
        assert_eq!(Key::parse(&format!(" {}\n", k.to_hex())), Ok(k.clone()));
        assert_eq!(Key::parse("abc"), Err(KeyError::Format));
        assert_eq!(Key::parse(&"g".repeat(64)), Err(KeyError::Format));
        assert_ne!(k.mac("token", "x"), k.mac("open", "x"));
        assert_ne!(k.mac("token", "x"), Key::generate().mac("token", "x"));
        assert_eq!(format!("{k:?}"), "Key(…)");
    }
}
