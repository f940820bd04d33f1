//! The dialogue file as written: a serde mirror of the TOML, with spans.
//!
//! Nothing here is validated beyond TOML types; `compile` turns it into a
//! [`super::Dialogue`].

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DialogueFile {
    pub id: Spanned<String>,
    pub title: Spanned<String>,
    #[serde(default)]
    pub per_unit: bool,
    /// How the texts address the respondent: "ông/bà" (default) or "đồng chí".
    pub address: Option<Spanned<String>>,
    #[serde(default)]
    pub messages: MessagesFile,
    #[serde(default)]
    pub scales: Vec<ScaleFile>,
    #[serde(default)]
    pub sections: Vec<SectionFile>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessagesFile {
    pub intro: Option<Spanned<String>>,
    pub unit_intro: Option<Spanned<String>>,
    pub review: Option<Spanned<String>>,
    pub submitted: Option<Spanned<String>>,
    pub thanks: Option<Spanned<String>>,
    pub cancelled: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScaleFile {
    pub id: Spanned<String>,
    pub options: Spanned<Vec<OptionFile>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionFile {
    pub label: Spanned<String>,
    pub score: Option<Spanned<f64>>,
    #[serde(default)]
    pub positive: bool,
    #[serde(default)]
    pub not_applicable: bool,
    #[serde(default)]
    pub aliases: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SectionFile {
    pub id: Spanned<String>,
    pub title: Spanned<String>,
    pub intro: Option<String>,
    #[serde(default)]
    pub questions: Vec<QuestionFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuestionFile {
    pub id: Spanned<String>,
    pub text: Spanned<String>,
    /// Short label for the review screen; defaults to the text.
    pub short: Option<String>,
    pub hint: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<Spanned<String>>,
    pub scale: Option<Spanned<String>>,
    pub required: Option<bool>,
    pub min_length: Option<Spanned<i64>>,
    pub max_length: Option<Spanned<i64>>,
    pub max_choices: Option<Spanned<i64>>,
    pub min: Option<Spanned<f64>>,
    pub max: Option<Spanned<f64>>,
    pub integer: Option<bool>,
    pub show_if: Option<Spanned<ConditionFile>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionFile {
    pub question: Spanned<String>,
    pub any_of: Option<Spanned<Vec<Spanned<String>>>>,
    pub none_of: Option<Spanned<Vec<Spanned<String>>>>,
    pub answered: Option<Spanned<bool>>,
    pub at_least: Option<Spanned<f64>>,
    pub at_most: Option<Spanned<f64>>,
}
