//! The annotation text: parsing `--format` templates such as ` ({desc})` and rendering them for a code.
//!
//! This module owns the placeholders (`{code}`, `{desc}`, `{kind}`, and `{{`/`}}` for literal braces)
//! and nothing else; which annotations are safe to insert is decided in [`crate::annotate`].

use std::fmt;

/// The default template: a space and the description in parentheses, `callStatus=129 (Mobile App Denied)`.
pub const DEFAULT: &str = " ({desc})";

/// The description used for a number that is not in the table.
pub const UNKNOWN_DESCRIPTION: &str = "unknown MFA result code";

/// The kind used for a number that is not in the table.
pub const UNKNOWN_KIND: &str = "unknown";

/// A parsed annotation template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pieces: Vec<Piece>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Code,
    Desc,
    Kind,
}

/// Why a template was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// `{name}` with a name other than `code`, `desc` or `kind`.
    #[error("unknown placeholder {{{0}}} (use {{code}}, {{desc}} or {{kind}}; {{{{ and }}}} for braces)")]
    UnknownPlaceholder(String),
    /// A `{` without its `}`, or a lone `}`.
    #[error("unmatched brace (write {{{{ or }}}} for a literal brace)")]
    UnmatchedBrace,
}

impl Template {
    /// Parses a template.
    ///
    /// ```
    /// use mfa_annotate::template::Template;
    /// let t = Template::parse(" [{code}: {desc}]").unwrap();
    /// assert_eq!(t.render(129, "Mobile App Denied", "error"), " [129: Mobile App Denied]");
    /// ```
    pub fn parse(s: &str) -> Result<Self, TemplateError> {
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    text.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    text.push('}');
                }
                '}' => return Err(TemplateError::UnmatchedBrace),
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(c) => name.push(c),
                            None => return Err(TemplateError::UnmatchedBrace),
                        }
                    }
                    let piece = match name.as_str() {
                        "code" => Piece::Code,
                        "desc" => Piece::Desc,
                        "kind" => Piece::Kind,
                        _ => return Err(TemplateError::UnknownPlaceholder(name)),
                    };
                    if !text.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut text)));
                    }
                    pieces.push(piece);
                }
                c => text.push(c),
            }
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Ok(Template { pieces })
    }

    /// True when the text depends on the number itself (`{code}`), not only on its table entry.
    pub fn uses_code(&self) -> bool {
        self.pieces.contains(&Piece::Code)
    }

    /// Renders the template for one code.
    pub fn render(&self, code: u32, desc: &str, kind: &str) -> String {
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Code => out.push_str(&code.to_string()),
                Piece::Desc => out.push_str(desc),
                Piece::Kind => out.push_str(kind),
            }
        }
        out
    }
}

impl Default for Template {
    fn default() -> Self {
        Template::parse(DEFAULT).expect("default template parses")
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.pieces {
            match p {
                Piece::Text(t) => f.write_str(&t.replace('{', "{{").replace('}', "}}"))?,
                Piece::Code => f.write_str("{code}")?,
                Piece::Desc => f.write_str("{desc}")?,
                Piece::Kind => f.write_str("{kind}")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_renders_description_in_parentheses() {
        let t = Template::default();
        assert_eq!(
            t.render(129, "Mobile App Denied", "error"),
            " (Mobile App Denied)"
        );
    }

    #[test]
    fn placeholders_and_escapes() {
        let t = Template::parse(" {{{code}}} {kind}: {desc}").unwrap();
        assert_eq!(
            t.render(7, "Bypassed Auth", "result"),
            " {7} result: Bypassed Auth"
        );
        assert_eq!(t.to_string(), " {{{code}}} {kind}: {desc}");
        assert_eq!(Template::parse("").unwrap().render(1, "x", "y"), "");
    }

    #[test]
    fn bad_templates() {
        assert_eq!(
            Template::parse(" {name}"),
            Err(TemplateError::UnknownPlaceholder("name".into()))
        );
        assert_eq!(
            Template::parse(" {desc"),
            Err(TemplateError::UnmatchedBrace)
        );
        assert_eq!(
            Template::parse(" desc}"),
            Err(TemplateError::UnmatchedBrace)
        );
    }
}
