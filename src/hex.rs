//! Lower-case hexadecimal: how hashes, keys and random ids are written.

/// Lower-case hex of bytes.
pub fn encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = vec![0; bytes.len() * 2];
    for (pair, b) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[usize::from(b >> 4)];
        pair[1] = DIGITS[usize::from(b & 15)];
    }
    // Digits only: ASCII, so this cannot fail; the fallback is never taken.
    String::from_utf8(out).unwrap_or_default()
}

/// Bytes from lower- or upper-case hex; `None` for anything else.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// `N` random bytes from the operating system's generator, as hex.
pub fn random<const N: usize>() -> String {
    encode(&rand::random::<[u8; N]>())
}

#[cfg(test)]
mod tests {
    #[test]
    fn encodes_every_byte_as_two_lower_case_digits() {
        assert_eq!(super::encode(&[0, 9, 10, 255]), "00090aff");
        assert_eq!(super::random::<16>().len(), 32);
        assert_eq!(super::decode("00090aFF"), Some(vec![0, 9, 10, 255]));
        assert_eq!(super::decode("0g"), None);
        assert_eq!(super::decode("abc"), None);
    }
}
