//! CSV files: UTF-8 with a byte-order mark, so Excel shows Vietnamese
//! correctly; comma-separated with a decimal point (RFC 4180), so any tool
//! reads them; text that a spreadsheet would run as a formula is neutralised.

use super::tables::{Table, Value};

/// Marks the file as UTF-8 for Excel.
pub const BOM: &str = "\u{feff}";

/// One table as a CSV file's content.
pub fn table(t: &Table) -> String {
    let mut out = String::from(BOM);
    row(&mut out, t.headers.iter().map(|h| text_field(h)));
    for r in &t.rows {
        row(
            &mut out,
            r.iter().map(|v| match v {
                Value::Text(s) => text_field(s),
                other => other.text(),
            }),
        );
    }
    out
}

/// Appends one record, fields quoted where they must be.
pub fn row<S: AsRef<str>>(out: &mut String, fields: impl Iterator<Item = S>) {
    for (i, f) in fields.enumerate() {
        if i > 0 {
            out.push(',');
        }
        field(out, f.as_ref());
    }
    out.push_str("\r\n");
}

/// Appends one field, quoted if it holds a comma, a quote or a line break.
pub fn field(out: &mut String, f: &str) {
    let bytes = f.as_bytes();
    // Most fields are short labels and ids: one scalar pass over the
    // bytes costs less than setting up two vectorised searches (memchr3
    // for three of the bytes, memchr for the fourth).
    if !bytes
        .iter()
        .any(|&b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
    {
        out.push_str(f);
        return;
    }
    out.reserve(f.len() + 2);
    out.push('"');
    let mut start = 0;
    for quote in memchr::memchr_iter(b'"', bytes) {
        // Up to and with the quote, then the quote again.
        out.push_str(&f[start..=quote]);
        out.push('"');
        start = quote + 1;
    }
    out.push_str(&f[start..]);
    out.push('"');
}

/// Free text as a field: a leading `=`, `+`, `-`, `@`, tab or carriage
/// return would make a spreadsheet treat it as a formula, so it gets a
/// leading apostrophe (OWASP's advice for CSV injection).
pub fn text_field(s: &str) -> String {
    if is_formula(s) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// Appends free text as one field: [`text_field`], then [`field`].
pub fn text(out: &mut String, s: &str) {
    if is_formula(s) {
        field(out, &format!("'{s}"));
    } else {
        field(out, s);
    }
}

fn is_formula(s: &str) -> bool {
    s.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_is_quoted_for_each_byte_that_needs_it_and_only_then() {
        for (plain, quoted) in [
            ("a,b", "\"a,b\""),
            ("a\"b", "\"a\"\"b\""),
            ("a\nb", "\"a\nb\""),
            ("a\rb", "\"a\rb\""),
            ("Tác động tích cực; 5", "Tác động tích cực; 5"),
            ("", ""),
        ] {
            let mut out = String::from("x,");
            field(&mut out, plain);
            assert_eq!(out, format!("x,{quoted}"), "{plain:?}");
        }
    }

    #[test]
    fn formulas_are_neutralised_and_quotes_escaped() {
        let t = Table {
            sheet: "s",
            file: "f.csv",
            headers: vec!["Ý kiến".into()],
            rows: vec![
                vec![Value::Text("=HYPERLINK(\"http://x\")".into())],
                vec![Value::Text("@SUM(A1)".into())],
                vec![Value::Text("a, \"b\"\nc".into())],
                vec![Value::Figure(-1.5)],
            ],
            notes: vec![],
        };
        assert_eq!(
            table(&t),
            "\u{feff}Ý kiến\r\n\"'=HYPERLINK(\"\"http://x\"\")\"\r\n'@SUM(A1)\r\n\"a, \"\"b\"\"\nc\"\r\n-1.50\r\n"
        );
    }
}
