//! Button actions and their compact encoding for callback data.

use serde::{Deserialize, Serialize};

/// What a button does. `Pick` and `Edit` carry 1-based numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    /// Choose option n (toggles it on a multiple-choice question).
    Pick(u16),
    /// Finish a multiple-choice question.
    Done,
    /// Keep the current answer and go on.
    Keep,
    Back,
    Skip,
    /// Go to the review screen.
    Review,
    /// Send the ballot (on the review screen).
    Confirm,
    /// Change the answer to question n (on the review screen).
    Edit(u16),
    Cancel,
    CancelYes,
    CancelNo,
    Help,
    /// Answer question q (1-based among the unit's questions) with option n,
    /// in any order: the leaders' compact form.
    Set(u16, u16),
}

impl Action {
    /// Compact text form, e.g. `p4`, `e2`, `b`.
    pub fn code(self) -> String {
        match self {
            Action::Pick(n) => format!("p{n}"),
            Action::Edit(n) => format!("e{n}"),
            Action::Done => "d".into(),
            Action::Keep => "k".into(),
            Action::Back => "b".into(),
            Action::Skip => "s".into(),
            Action::Review => "r".into(),
            Action::Confirm => "c".into(),
            Action::Cancel => "x".into(),
            Action::CancelYes => "xy".into(),
            Action::CancelNo => "xn".into(),
            Action::Help => "h".into(),
            Action::Set(q, n) => format!("g{q}.{n}"),
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        let number = |s: &str| -> Option<u16> {
            (s.len() <= 5 && canonical_number(s))
                .then(|| s.parse().ok())
                .flatten()
        };
        Some(match code {
            "d" => Action::Done,
            "k" => Action::Keep,
            "b" => Action::Back,
            "s" => Action::Skip,
            "r" => Action::Review,
            "c" => Action::Confirm,
            "x" => Action::Cancel,
            "xy" => Action::CancelYes,
            "xn" => Action::CancelNo,
            "h" => Action::Help,
            _ => match code.split_at_checked(1)? {
                ("p", n) => Action::Pick(number(n)?),
                ("e", n) => Action::Edit(number(n)?),
                ("g", qn) => {
                    let (q, n) = qn.split_once('.')?;
                    Action::Set(number(q)?, number(n)?)
                }
                _ => return None,
            },
        })
    }

    /// Button data: `<step>:<code>`, at most 16 bytes (Telegram allows 64).
    pub fn encode(self, step: u32) -> String {
        format!("{step}:{}", self.code())
    }

    /// Decodes button data; `None` for anything that was not made by `encode`
    /// (so `decode(d) == Some(x)` only where `encode(x) == d`).
    pub fn decode(data: &str) -> Option<(u32, Self)> {
        let (step, code) = data.split_once(':')?;
        if step.len() > 10 || !canonical_number(step) {
            return None;
        }
        Some((step.parse().ok()?, Self::from_code(code)?))
    }
}

/// Digits as `format!` writes a number: no sign, no leading zero.
fn canonical_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_round_trips_through_button_data() {
        let all = [
            Action::Pick(1),
            Action::Pick(12),
            Action::Done,
            Action::Keep,
            Action::Back,
            Action::Skip,
            Action::Review,
            Action::Confirm,
            Action::Edit(7),
            Action::Cancel,
            Action::CancelYes,
            Action::CancelNo,
            Action::Help,
            Action::Set(6, 5),
        ];
        for a in all {
            let data = a.encode(4_000_000_000);
            assert!(data.len() <= 64);
            assert_eq!(Action::decode(&data), Some((4_000_000_000, a)));
        }
    }

    #[test]
    fn forged_data_is_rejected() {
        for bad in [
            "",
            ":",
            "1:",
            "x:p1",
            "1:p",
            "1:p-1",
            "1:p99999",
            "1:zz",
            "99999999999:b",
            "1:e1x",
            "1:pé",
        ] {
            assert_eq!(Action::decode(bad), None, "{bad}");
        }
    }
}
