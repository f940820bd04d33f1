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
        if text.len() != 64 {
            return Err(KeyError::Format);
        }
        let bytes = crate::hex::decode(text).ok_or(KeyError::Format)?;
        Ok(Self(bytes.try_into().map_err(|_| KeyError::Format)?))
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

/// Sealed values are padded to a multiple of this many bytes, so their
/// length does not tell one ballot or conversation from another.
const SEAL_BLOCK: usize = 256;

/// Why a sealed value could not be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a sealed value could not be opened: it was made under another key, or altered")]
pub struct Unsealable;

impl Key {
    /// Encrypts and authenticates `plain` (XChaCha20-Poly1305 under a
    /// subkey, a random nonce), padded so its length says little; hex.
    pub fn seal(&self, plain: &[u8]) -> String {
        use chacha20poly1305::aead::{Aead, KeyInit};
        use chacha20poly1305::{XChaCha20Poly1305, XNonce};
        let mut padded = Vec::with_capacity(plain.len() + SEAL_BLOCK + 4);
        padded.extend_from_slice(&(plain.len() as u32).to_le_bytes());
        padded.extend_from_slice(plain);
        padded.resize(padded.len().div_ceil(SEAL_BLOCK) * SEAL_BLOCK, 0);
        let nonce: [u8; 24] = rand::random();
        let cipher = XChaCha20Poly1305::new(&self.subkey("seal").into());
        let sealed = cipher
            .encrypt(XNonce::from_slice(&nonce), padded.as_slice())
            .expect("encrypting in memory cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        crate::hex::encode(&out)
    }

    /// Opens what [`Key::seal`] sealed under this key.
    pub fn open(&self, sealed: &str) -> Result<Vec<u8>, Unsealable> {
        use chacha20poly1305::aead::{Aead, KeyInit};
        use chacha20poly1305::{XChaCha20Poly1305, XNonce};
        let bytes = crate::hex::decode(sealed).ok_or(Unsealable)?;
        if bytes.len() < 24 {
            return Err(Unsealable);
        }
        let (nonce, body) = bytes.split_at(24);
        let cipher = XChaCha20Poly1305::new(&self.subkey("seal").into());
        let padded = cipher
            .decrypt(XNonce::from_slice(nonce), body)
            .map_err(|_| Unsealable)?;
        let len = u32::from_le_bytes(
            padded
                .get(..4)
                .ok_or(Unsealable)?
                .try_into()
                .map_err(|_| Unsealable)?,
        ) as usize;
        padded.get(4..4 + len).map(<[u8]>::to_vec).ok_or(Unsealable)
    }

    /// A 32-byte key derived for one use.
    fn subkey(&self, purpose: &str) -> [u8; 32] {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(b"khaosat/subkey\n");
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
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

    #[test]
    fn sealed_values_open_only_under_their_key_and_hide_their_length() {
        let k = Key::generate();
        let short = k.seal(b"4");
        let long = k.seal("Mong muốn: thêm ghế chờ".repeat(5).as_bytes());
        assert_eq!(k.open(&short).unwrap(), b"4");
        assert_eq!(short.len(), long.len(), "padded to the same length");
        assert_ne!(k.seal(b"4"), short, "a fresh nonce each time");
        assert_eq!(Key::generate().open(&short), Err(Unsealable));
        let mut altered = short.clone().into_bytes();
        altered[60] = if altered[60] == b'0' { b'1' } else { b'0' };
        assert_eq!(
            k.open(&String::from_utf8(altered).unwrap()),
            Err(Unsealable)
        );
        assert_eq!(k.open("zz"), Err(Unsealable));
    }
}
