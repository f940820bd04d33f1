//! Lower-case hexadecimal: how hashes, keys and random ids are written.

/// Lower-case hex of bytes.
pub fn encode(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        // Writing to a String cannot fail.
        let _ = write!(out, "{b:02x}");
    }
    out
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
    }
}
