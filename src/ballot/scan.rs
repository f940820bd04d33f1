//! Stored answers read without serde's machinery when they are in the shape
//! almost every ballot has, as the service writes them: compact, no
//! escapes. White space, an escape or anything unexpected is left to
//! serde_json (`None`), so every JSON still means what serde_json reads it
//! as (a number is read by serde_json itself); this only reads the common
//! shape faster (the report reads a million of them).

use crate::dialogue::Answer;

/// Reads `json` when it is an object of answers written compactly with no
/// escapes, handing each `(id, answer)` to `put` in order; `None`, having
/// perhaps handed some, for anything else.
pub(super) fn simple_answers(json: &str, mut put: impl FnMut(&str, Answer)) -> Option<()> {
    let mut s = Scan { json, at: 0 };
    s.eat("{")?;
    if s.eat("}").is_none() {
        loop {
            s.eat("\"")?;
            let id = s.text()?;
            s.eat(":")?;
            put(id, s.answer()?);
            if s.eat(",").is_none() {
                s.eat("}")?;
                break;
            }
        }
    }
    (s.at == json.len()).then_some(())
}

struct Scan<'a> {
    json: &'a str,
    at: usize,
}

impl<'a> Scan<'a> {
    fn rest(&self) -> &'a [u8] {
        &self.json.as_bytes()[self.at..]
    }

    fn eat(&mut self, literal: &str) -> Option<()> {
        self.rest().starts_with(literal.as_bytes()).then(|| {
            self.at += literal.len();
        })
    }

    /// A string's text up to its closing quote: no escape, no control byte.
    fn text(&mut self) -> Option<&'a str> {
        let rest = self.rest();
        let end = memchr::memchr2(b'"', b'\\', rest)?;
        if rest[end] != b'"' || rest[..end].iter().any(|&b| b < 0x20) {
            return None;
        }
        let id = self.json.get(self.at..self.at + end)?;
        self.at += end + 1;
        Some(id)
    }

    fn answer(&mut self) -> Option<Answer> {
        if self.eat("{\"choice\":").is_some() {
            let n = self.number()?;
            self.eat("}")?;
            return Some(Answer::Choice(n));
        }
        if self.eat("{\"choices\":[").is_some() {
            let mut ns = vec![self.number()?];
            while self.eat(",").is_some() {
                ns.push(self.number()?);
            }
            self.eat("]}")?;
            return Some(Answer::Choices(ns));
        }
        if self.eat("{\"text\":\"").is_some() {
            let text = self.text()?;
            self.eat("}")?;
            return Some(Answer::Text(text.to_string()));
        }
        if self.eat("{\"number\":").is_some() {
            let rest = self.rest();
            let len = rest
                .iter()
                .take_while(|b| matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                .count();
            // serde_json's own reading of the number, so it is the same.
            let x = serde_json::from_str(self.json.get(self.at..self.at + len)?).ok()?;
            self.at += len;
            self.eat("}")?;
            return Some(Answer::Number(x));
        }
        self.eat("\"skipped\"")?;
        Some(Answer::Skipped)
    }

    /// An option number as JSON writes it: digits, no leading zero.
    fn number(&mut self) -> Option<u16> {
        let rest = self.rest();
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 || digits > 5 || (digits > 1 && rest[0] == b'0') {
            return None;
        }
        let n = self.json.get(self.at..self.at + digits)?.parse().ok()?;
        self.at += digits;
        Some(n)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::simple_answers;
    use crate::dialogue::Answer;

    /// What the scan reads, if it reads it.
    fn scanned(json: &str) -> Option<Vec<(String, Answer)>> {
        let mut read = Vec::new();
        simple_answers(json, |id, a| read.push((id.to_string(), a)))?;
        Some(read)
    }

    #[test]
    fn the_common_shape_is_read_as_serde_reads_it() {
        let json = r#"{"a":{"choice":2},"b":{"choices":[1,3]},"c":"skipped","a":{"choice":65535},"d":{"text":"ít thôi"},"e":{"number":-2.5e1},"f":{"number":3},"g":{"number":1.9604835444135462}}"#;
        let read = scanned(json).unwrap();
        assert_eq!(read.len(), 8, "every answer, a repeated id included");
        let map: BTreeMap<String, Answer> = read.into_iter().collect();
        let serde: BTreeMap<String, Answer> = serde_json::from_str(json).unwrap();
        assert_eq!(map, serde, "the last answer to an id counts in both");
        assert_eq!(scanned("{}"), Some(Vec::new()));
    }

    #[test]
    fn anything_else_is_left_to_serde() {
        for json in [
            r#"{"a":{"text":"x\"y"}}"#,
            r#"{"a":{"text":"x\ny"}}"#,
            "{\"a\":{\"text\":\"x\ny\"}}",
            r#"{"a":{"number":04}}"#,
            r#"{"a":{"number":4.}}"#,
            r#"{"a":{"number":"4"}}"#,
            r#"{"a":{"choice":02}}"#,
            r#"{"a":{"choice":65536}}"#,
            r#"{"a":{"choice":-1}}"#,
            r#"{"a":{"choice":1.0}}"#,
            r#"{"a":{"choices":[]}}"#,
            r#"{"\u0061":{"choice":1}}"#,
            "{\"a\u{1}\":{\"choice\":1}}",
            r#"{ "a":{"choice":1}}"#,
            r#"{"a":{"choice":1}} "#,
            r#"{"a":{"choice":1},}"#,
            r#"{"a":{"choice":1}"#,
            r#"{"a":{"choice":1}}x"#,
            r#"{"a":"skip"}"#,
            "",
        ] {
            assert_eq!(scanned(json), None, "{json}");
        }
    }

    fn any_answer() -> impl Strategy<Value = Answer> {
        prop_oneof![
            any::<u16>().prop_map(Answer::Choice),
            proptest::collection::vec(any::<u16>(), 0..4).prop_map(Answer::Choices),
            Just(Answer::Skipped),
            "[a-zà-ỹ\"\\\\\n ]{0,6}".prop_map(Answer::Text),
            (-5.0..5.0f64).prop_map(Answer::Number),
        ]
    }

    proptest! {
        /// Whatever the service writes, the scan reads the same answers
        /// as serde_json, or leaves it to serde_json.
        #[test]
        fn the_scan_agrees_with_serde(
            answers in proptest::collection::btree_map("[a-z0-9\"\\\\\u{1}ạ-]{1,8}", any_answer(), 0..8)
        ) {
            let json = serde_json::to_string(&answers).unwrap();
            if let Some(read) = scanned(&json) {
                let map: BTreeMap<String, Answer> = read.into_iter().collect();
                // As serde_json reads it back (not always the very number
                // written: serde_json's own reading is not exact).
                let serde: BTreeMap<String, Answer> = serde_json::from_str(&json).unwrap();
                prop_assert_eq!(&map, &serde);
            } else {
                // What JSON writes without an escape.
                let plain = |s: &str| !s.chars().any(|c| c == '"' || c == '\\' || c < ' ');
                let simple = answers.iter().all(|(id, a)| {
                    plain(id)
                        && match a {
                            Answer::Choice(_) | Answer::Skipped => true,
                            Answer::Choices(ns) => !ns.is_empty(),
                            Answer::Text(t) => plain(t),
                            Answer::Number(_) => true,
                        }
                });
                prop_assert!(!simple, "{} was left to serde", json);
            }
        }
    }
}
