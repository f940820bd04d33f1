//! Dialogue file → [`Dialogue`]: every check an operator needs, each error
//! located at `file:line:column` with a fix.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use sha2::{Digest, Sha256};
use toml::Spanned;

use super::file::{ConditionFile, DialogueFile, MessagesFile, QuestionFile, ScaleFile};
use super::{
    Condition, Dialogue, DialogueMessages, Question, QuestionKind, Scale, ScaleOption, Section,
    Test,
};
use crate::diagnostic::{self, Diagnostics, SourceFile, check_id};
use crate::text;

/// Longest free-text answer a dialogue may allow (fits one Zalo message).
pub const MAX_TEXT_LENGTH: usize = 2000;
/// Most options a scale may have (buttons must stay readable on a phone).
pub const MAX_OPTIONS: usize = 12;

/// Reads and compiles a dialogue file.
pub fn compile_file(path: &Path) -> Result<Dialogue, Diagnostics> {
    compile(&SourceFile::read(path)?)
}

/// Compiles a dialogue version recorded in the store (a session finishing on
/// it, a report reading ballots answered on it).
/// The source must hash to its recorded version: a stored questionnaire
/// edited behind the service's back is refused.
pub fn compile_stored(id: &str, version: &str, source: String) -> anyhow::Result<Dialogue> {
    let d = compile(&SourceFile::new(format!("<stored {id}@{version}>"), source)).map_err(|e| {
        anyhow::Error::new(e).context(format!("the recorded dialogue {id} version {version}"))
    })?;
    if d.id() != id || d.version() != version {
        anyhow::bail!(
            "the recorded dialogue {id} version {version} does not match its source \
             (it hashes to {}@{}): the stored questionnaire was altered; restore it from a backup",
            d.id(),
            d.version()
        );
    }
    Ok(d)
}

/// Compiles a dialogue from source text.
pub fn compile(file: &SourceFile) -> Result<Dialogue, Diagnostics> {
    let raw: DialogueFile = toml::from_str(&file.text)
        .map_err(|e| Diagnostics::one(diagnostic::from_toml(file, &e)))?;
    Compiler {
        file,
        diags: Diagnostics::default(),
    }
    .run(raw)
}

struct Compiler<'a> {
    file: &'a SourceFile,
    diags: Diagnostics,
}

impl Compiler<'_> {
    fn error(&mut self, span: std::ops::Range<usize>, message: String, fix: &str) {
        self.diags.push(self.file.error(Some(span), message, fix));
    }

    fn run(mut self, raw: DialogueFile) -> Result<Dialogue, Diagnostics> {
        check_id(self.file, &mut self.diags, &raw.id, "bảng hỏi");
        if raw.title.get_ref().trim().is_empty() {
            self.error(
                raw.title.span(),
                "tiêu đề đang trống".into(),
                "đặt tiêu đề cho bảng hỏi",
            );
        }
        let messages = self.messages(&raw.messages);
        let scales = self.scales(&raw.scales);
        let scale_ids: HashMap<&str, usize> = raw
            .scales
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.get_ref().as_str(), i))
            .collect();

        if raw.sections.is_empty() {
            self.diags.push(self.file.error(
                None,
                "bảng hỏi chưa có phần nào".to_string(),
                "thêm ít nhất một [[sections]] có câu hỏi",
            ));
        }
        let mut sections = Vec::new();
        let mut questions: Vec<Question> = Vec::new();
        let mut raw_questions: Vec<&QuestionFile> = Vec::new();
        let mut section_ids = HashSet::new();
        let mut question_ids: HashMap<String, usize> = HashMap::new();
        for raw_section in &raw.sections {
            check_id(self.file, &mut self.diags, &raw_section.id, "phần");
            if !section_ids.insert(raw_section.id.get_ref().clone()) {
                self.error(
                    raw_section.id.span(),
                    format!("mã phần `{}` bị trùng", raw_section.id.get_ref()),
                    "đặt cho mỗi phần một mã riêng",
                );
            }
            if raw_section.questions.is_empty() {
                self.error(
                    raw_section.id.span(),
                    format!("phần `{}` chưa có câu hỏi", raw_section.id.get_ref()),
                    "thêm [[sections.questions]] bên dưới, hoặc xóa phần này",
                );
            }
            let section = sections.len();
            sections.push(Section {
                id: raw_section.id.get_ref().clone(),
                title: text::nfc(raw_section.title.get_ref()),
                intro: raw_section.intro.as_deref().map(text::nfc),
            });
            for q in &raw_section.questions {
                check_id(self.file, &mut self.diags, &q.id, "câu hỏi");
                if question_ids.contains_key(q.id.get_ref()) {
                    self.error(
                        q.id.span(),
                        format!("mã câu hỏi `{}` bị trùng", q.id.get_ref()),
                        "mã câu hỏi phải khác nhau trong một bảng hỏi; đổi tên một câu",
                    );
                } else {
                    question_ids.insert(q.id.get_ref().clone(), questions.len());
                }
                let kind = self.kind(q, &scale_ids, &scales);
                let text_ = text::nfc(q.text.get_ref());
                if text_.is_empty() {
                    self.error(
                        q.text.span(),
                        "nội dung câu hỏi đang trống".into(),
                        "viết nội dung câu hỏi",
                    );
                }
                questions.push(Question {
                    id: q.id.get_ref().clone(),
                    section,
                    short: q.short.as_deref().map_or_else(|| text_.clone(), text::nfc),
                    text: text_,
                    hint: q.hint.as_deref().map(text::nfc),
                    kind,
                    required: q.required.unwrap_or(true),
                    show_if: None,
                });
                raw_questions.push(q);
            }
        }

        // Conditions, now that every question is known.
        for (i, q) in raw_questions.iter().enumerate() {
            if let Some(cond) = &q.show_if {
                questions[i].show_if = self.condition(i, cond, &question_ids, &questions, &scales);
            }
        }
        self.reachability(&questions, &raw_questions, &scales);

        let mut used = vec![false; scales.len()];
        for q in &questions {
            if let QuestionKind::Choice { scale } | QuestionKind::Multiple { scale, .. } = q.kind {
                used[scale] = true;
            }
        }
        for (s, used) in raw.scales.iter().zip(used) {
            if !used && !scales.is_empty() {
                self.error(
                    s.id.span(),
                    format!("thang đo `{}` không được dùng", s.id.get_ref()),
                    "dùng nó trong một câu hỏi (`scale = \"…\"`) hoặc xóa nó",
                );
            }
        }

        let version = {
            let digest = Sha256::digest(self.file.text.as_bytes());
            digest[..6].iter().map(|b| format!("{b:02x}")).collect()
        };
        let address = self.address(&raw);
        let index = questions
            .iter()
            .enumerate()
            .map(|(i, q)| (q.id.clone(), i))
            .collect();
        let dialogue = Dialogue {
            id: raw.id.into_inner(),
            version,
            source: self.file.text.clone(),
            title: text::nfc(raw.title.get_ref()),
            per_unit: raw.per_unit,
            address,
            messages,
            scales,
            sections,
            questions,
            index,
        };
        self.diags.into_result(dialogue)
    }

    /// The form of address: a short phrase, "ông/bà" unless the file says.
    fn address(&mut self, raw: &DialogueFile) -> String {
        match &raw.address {
            None => "ông/bà".to_string(),
            Some(a) if !a.get_ref().trim().is_empty() && a.get_ref().chars().count() <= 20 => {
                text::nfc(a.get_ref().trim())
            }
            Some(a) => {
                self.diags.push(self.file.error(
                    Some(a.span()),
                    "`address` phải là một cách xưng hô ngắn".to_string(),
                    "ghi cách xưng hô với người trả lời, ví dụ \"ông/bà\" cho người dân hoặc \"đồng chí\" cho cán bộ",
                ));
                "ông/bà".to_string()
            }
        }
    }

    fn messages(&mut self, raw: &MessagesFile) -> DialogueMessages {
        let (file, diags) = (self.file, &mut self.diags);
        let mut take =
            |key: &str, value: &Option<Spanned<String>>, allowed: &[&str], default: &str| {
                diagnostic::message(file, diags, key, value, allowed, default)
            };
        DialogueMessages {
            intro: take(
                "intro",
                &raw.intro,
                &["title", "units"],
                "{title}\n\nPhiếu khảo sát không ghi tên người trả lời. Mỗi lần chỉ hỏi một câu; có thể quay lại sửa câu trả lời và xem lại toàn bộ trước khi gửi.",
            ),
            unit_intro: take(
                "unit_intro",
                &raw.unit_intro,
                &["unit", "index", "total", "remaining"],
                "Đơn vị {index}/{total}: {unit}",
            ),
            review: take(
                "review",
                &raw.review,
                &["unit"],
                "Xin xem lại câu trả lời về {unit}:",
            ),
            submitted: take(
                "submitted",
                &raw.submitted,
                &["unit", "receipt"],
                "Đã ghi nhận phiếu về {unit}. Mã biên nhận: {receipt}",
            ),
            thanks: take(
                "thanks",
                &raw.thanks,
                &["count"],
                "Xin cảm ơn ông/bà đã tham gia khảo sát!",
            ),
            cancelled: take(
                "cancelled",
                &raw.cancelled,
                &[],
                "Đã hủy. Các câu trả lời chưa gửi đã được xóa; phiếu đã gửi trước đó vẫn giữ nguyên.",
            ),
        }
    }

    fn scales(&mut self, raw: &[ScaleFile]) -> Vec<Scale> {
        let mut seen = HashSet::new();
        let mut scales = Vec::new();
        for s in raw {
            check_id(self.file, &mut self.diags, &s.id, "thang đo");
            if !seen.insert(s.id.get_ref().clone()) {
                self.error(
                    s.id.span(),
                    format!("mã thang đo `{}` bị trùng", s.id.get_ref()),
                    "đặt cho mỗi thang đo một mã riêng",
                );
            }
            let opts = s.options.get_ref();
            if opts.is_empty() {
                self.error(
                    s.options.span(),
                    format!("thang đo `{}` chưa có lựa chọn nào", s.id.get_ref()),
                    "liệt kê các lựa chọn, ví dụ options = [{ label = \"Hài lòng\", score = 4, positive = true }]",
                );
            }
            if opts.len() > MAX_OPTIONS {
                self.error(
                    s.options.span(),
                    format!("thang đo `{}` có {} lựa chọn", s.id.get_ref(), opts.len()),
                    &format!(
                        "giữ tối đa {MAX_OPTIONS} lựa chọn để các nút vẫn đọc được trên điện thoại"
                    ),
                );
            }
            let scored = opts.iter().any(|o| o.score.is_some());
            let mut matches_seen: HashMap<String, String> = HashMap::new();
            let mut options = Vec::new();
            for o in opts {
                let label = text::nfc(o.label.get_ref());
                if label.is_empty() {
                    self.error(
                        o.label.span(),
                        "nhãn của một lựa chọn đang trống".into(),
                        "viết nhãn",
                    );
                }
                let mut matches = vec![text::fold(&label)];
                matches.extend(o.aliases.iter().map(|a| text::fold(a.get_ref())));
                for (m, span) in matches.iter().zip(
                    std::iter::once(&o.label)
                        .chain(&o.aliases)
                        .map(|s| s.span()),
                ) {
                    if !m.is_empty() && m.bytes().all(|b| b.is_ascii_digit() || b == b' ') {
                        self.error(
                            span.clone(),
                            format!("nhãn hoặc tên gọi khác `{m}` chỉ là một con số"),
                            "số gõ vào được hiểu là thứ tự lựa chọn; hãy dùng chữ",
                        );
                    } else if let Some(other) = matches_seen.insert(m.clone(), label.clone()) {
                        self.error(
                            span.clone(),
                            format!("`{m}` trùng với hai lựa chọn (`{other}` và `{label}`) khi bỏ dấu và chữ hoa"),
                            "làm cho các nhãn và tên gọi khác của thang đo khác nhau cả khi bỏ dấu",
                        );
                    }
                }
                if o.not_applicable && (o.positive || o.score.is_some()) {
                    self.error(
                        o.label.span(),
                        format!("lựa chọn `{label}` là not_applicable nhưng lại có điểm hoặc positive"),
                        "lựa chọn “không đánh giá được” không tính điểm: xóa score và `positive` của nó",
                    );
                }
                if scored && !o.not_applicable && o.score.is_none() {
                    self.error(
                        o.label.span(),
                        format!(
                            "lựa chọn `{label}` không có điểm trong khi các lựa chọn khác của thang đo có"
                        ),
                        "cho nó một điểm, hoặc đánh dấu `not_applicable = true`",
                    );
                }
                options.push(ScaleOption {
                    label,
                    matches,
                    score: o.score.as_ref().map(|s| *s.get_ref()),
                    positive: o.positive,
                    not_applicable: o.not_applicable,
                });
            }
            scales.push(Scale {
                id: s.id.get_ref().clone(),
                options,
            });
        }
        scales
    }

    fn kind(
        &mut self,
        q: &QuestionFile,
        scale_ids: &HashMap<&str, usize>,
        scales: &[Scale],
    ) -> QuestionKind {
        let kind = match &q.kind {
            Some(k) => k.get_ref().as_str(),
            None if q.scale.is_some() => "choice",
            None => {
                self.error(
                    q.id.span(),
                    format!("câu hỏi `{}` không có type cũng không có scale", q.id.get_ref()),
                    "thêm `scale = \"…\"` cho câu chọn, hoặc `type = \"text\"` / `type = \"number\"`",
                );
                return QuestionKind::Text {
                    min_length: 0,
                    max_length: 1,
                };
            }
        };
        let scale = |this: &mut Self| -> usize {
            match &q.scale {
                None => {
                    this.error(
                        q.id.span(),
                        format!(
                            "câu hỏi `{}` thuộc loại `{kind}` nhưng không có scale",
                            q.id.get_ref()
                        ),
                        "thêm `scale = \"<mã của một [[scales]]>\"`",
                    );
                    0
                }
                Some(s) => match scale_ids.get(s.get_ref().as_str()) {
                    Some(i) => *i,
                    None => {
                        let known = scale_ids.keys().copied().collect::<Vec<_>>().join(", ");
                        this.error(
                            s.span(),
                            format!("không có thang đo `{}`", s.get_ref()),
                            &format!("dùng một thang đo có trong tệp này: {known}"),
                        );
                        0
                    }
                },
            }
        };
        let no_scale = |this: &mut Self| {
            if let Some(s) = &q.scale {
                this.error(
                    s.span(),
                    format!("câu hỏi loại `{kind}` không dùng scale"),
                    "xóa `scale`, hoặc đổi `type` thành \"choice\" hoặc \"multiple\"",
                );
            }
        };
        let positive =
            |this: &mut Self, v: &Option<Spanned<i64>>, default: usize, max: usize, key: &str| {
                match v {
                    None => default,
                    Some(v) if *v.get_ref() >= 0 && (*v.get_ref() as u64) <= max as u64 => {
                        *v.get_ref() as usize
                    }
                    Some(v) => {
                        this.error(
                            v.span(),
                            format!("`{key}` bằng {}", v.get_ref()),
                            &format!("dùng một số từ 0 đến {max}"),
                        );
                        default
                    }
                }
            };
        match kind {
            "choice" => QuestionKind::Choice { scale: scale(self) },
            "multiple" => {
                let scale = scale(self);
                let n = scales.get(scale).map_or(1, |s| s.options.len());
                QuestionKind::Multiple {
                    scale,
                    max_choices: positive(self, &q.max_choices, n, n, "max_choices").max(1),
                }
            }
            "text" => {
                no_scale(self);
                let max_length = positive(self, &q.max_length, 1000, MAX_TEXT_LENGTH, "max_length");
                let min_length = positive(self, &q.min_length, 1, max_length, "min_length");
                QuestionKind::Text {
                    min_length: min_length.max(1),
                    max_length: max_length.max(1),
                }
            }
            "number" => {
                no_scale(self);
                let min = q.min.as_ref().map_or(f64::MIN, |v| *v.get_ref());
                let max = q.max.as_ref().map_or(f64::MAX, |v| *v.get_ref());
                if min > max {
                    self.error(
                        q.id.span(),
                        format!(
                            "câu hỏi `{}` có min {min} lớn hơn max {max}",
                            q.id.get_ref()
                        ),
                        "đổi chỗ hoặc sửa `min` và `max`",
                    );
                }
                QuestionKind::Number {
                    min,
                    max,
                    integer: q.integer.unwrap_or(true),
                }
            }
            other => {
                let span = q.kind.as_ref().map_or(q.id.span(), |k| k.span());
                self.error(
                    span,
                    format!("không có loại câu hỏi `{other}`"),
                    "dùng \"choice\", \"multiple\", \"text\" hoặc \"number\"",
                );
                QuestionKind::Text {
                    min_length: 0,
                    max_length: 1,
                }
            }
        }
    }

    fn condition(
        &mut self,
        at: usize,
        raw: &Spanned<ConditionFile>,
        ids: &HashMap<String, usize>,
        questions: &[Question],
        scales: &[Scale],
    ) -> Option<Condition> {
        let c = raw.get_ref();
        let name = c.question.get_ref();
        let Some(&target) = ids.get(name) else {
            self.error(
                c.question.span(),
                format!("điều kiện dựa vào câu hỏi không có `{name}`"),
                "ghi mã của một câu hỏi đứng trước trong bảng hỏi này",
            );
            return None;
        };
        if target >= at {
            self.error(
                c.question.span(),
                format!(
                    "điều kiện dựa vào câu hỏi `{name}`, {}",
                    if target == at {
                        "chính là câu này"
                    } else {
                        "được hỏi sau câu này"
                    }
                )
                .to_string(),
                "điều kiện chỉ được dựa vào các câu hỏi trước; chuyển điều kiện hoặc câu hỏi",
            );
            return None;
        }
        let tests = [
            c.any_of.is_some(),
            c.none_of.is_some(),
            c.answered.is_some(),
            c.at_least.is_some() || c.at_most.is_some(),
        ];
        if tests.iter().filter(|t| **t).count() != 1 {
            self.error(
                raw.span(),
                "một điều kiện cần đúng một phép thử".into(),
                "dùng một trong `any_of`, `none_of`, `answered`, hoặc `at_least`/`at_most`",
            );
            return None;
        }
        let kind = &questions[target].kind;
        let labels = |this: &mut Self, list: &Spanned<Vec<Spanned<String>>>| -> Option<Vec<u16>> {
            let scale = match kind {
                QuestionKind::Choice { scale } | QuestionKind::Multiple { scale, .. } => {
                    scales.get(*scale)?
                }
                _ => {
                    this.error(
                        list.span(),
                        format!(
                            "`any_of`/`none_of` cần một câu hỏi chọn, nhưng `{name}` không phải"
                        ),
                        "dùng `answered`, hoặc `at_least`/`at_most` cho câu hỏi số",
                    );
                    return None;
                }
            };
            let mut numbers = Vec::new();
            for l in list.get_ref() {
                let folded = text::fold(l.get_ref());
                match scale
                    .options
                    .iter()
                    .position(|o| o.matches.contains(&folded))
                {
                    Some(i) => numbers.push(i as u16 + 1),
                    None => {
                        let known = scale
                            .options
                            .iter()
                            .map(|o| format!("\"{}\"", o.label))
                            .collect::<Vec<_>>()
                            .join(", ");
                        this.error(
                            l.span(),
                            format!(
                                "`{}` không phải là lựa chọn của thang đo `{}`",
                                l.get_ref(),
                                scale.id
                            ),
                            &format!("dùng một trong: {known}"),
                        );
                        return None;
                    }
                }
            }
            Some(numbers)
        };
        let test = if let Some(list) = &c.any_of {
            Test::AnyOf(labels(self, list)?)
        } else if let Some(list) = &c.none_of {
            Test::NoneOf(labels(self, list)?)
        } else if let Some(a) = &c.answered {
            Test::Answered(*a.get_ref())
        } else {
            if !matches!(kind, QuestionKind::Number { .. }) {
                self.error(
                    raw.span(),
                    format!("`at_least`/`at_most` cần một câu hỏi số, nhưng `{name}` không phải"),
                    "dùng `any_of`, `none_of` hoặc `answered`",
                );
                return None;
            }
            Test::Range {
                at_least: c.at_least.as_ref().map_or(f64::MIN, |v| *v.get_ref()),
                at_most: c.at_most.as_ref().map_or(f64::MAX, |v| *v.get_ref()),
            }
        };
        Some(Condition {
            question: target,
            test,
        })
    }

    /// Reports questions whose condition can never hold.
    fn reachability(&mut self, questions: &[Question], raw: &[&QuestionFile], scales: &[Scale]) {
        let mut reachable = vec![true; questions.len()];
        for (i, q) in questions.iter().enumerate() {
            let Some(cond) = &q.show_if else { continue };
            let target = &questions[cond.question];
            let why = if !reachable[cond.question] {
                Some(format!(
                    "nó phụ thuộc `{}`, là câu không bao giờ được hỏi",
                    target.id
                ))
            } else {
                match (&cond.test, &target.kind) {
                    (Test::AnyOf(set), _) if set.is_empty() => {
                        Some("`any_of` đang trống".to_string())
                    }
                    (
                        Test::NoneOf(set),
                        QuestionKind::Choice { scale } | QuestionKind::Multiple { scale, .. },
                    ) if scales.get(*scale).is_some_and(|s| {
                        (1..=s.options.len() as u16).all(|n| set.contains(&n))
                    }) =>
                    {
                        Some("`none_of` loại trừ mọi lựa chọn".to_string())
                    }
                    (Test::Answered(false), _) if target.required && target.show_if.is_none() => {
                        Some(format!(
                            "`{}` là câu bắt buộc nên luôn có câu trả lời",
                            target.id
                        ))
                    }
                    (Test::Range { at_least, at_most }, QuestionKind::Number { min, max, .. })
                        if at_least > at_most || at_least > max || at_most < min =>
                    {
                        Some(format!(
                            "không câu trả lời nào của `{}` nằm trong khoảng đó",
                            target.id
                        ))
                    }
                    _ => None,
                }
            };
            if let Some(why) = why {
                reachable[i] = false;
                let span = raw[i]
                    .show_if
                    .as_ref()
                    .map_or(raw[i].id.span(), |c| c.span());
                self.error(
                    span,
                    format!("câu hỏi `{}` không bao giờ được hỏi: {why}", q.id),
                    "sửa điều kiện `show_if` để có câu trả lời thỏa mãn, hoặc xóa câu hỏi",
                );
            }
        }
    }
}
