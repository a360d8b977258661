//! Label selectors as Hubble evaluates them: Kubernetes selector syntax over
//! Cilium labels (`source:key=value`). A key without a source (`app=x`)
//! matches any source; `k8s:app=x` only the `k8s` one.

/// A parsed selector: every requirement must hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Selector {
    requirements: Vec<Requirement>,
}

#[derive(Debug, Clone, PartialEq)]
struct Requirement {
    key: Key,
    operator: Operator,
}

/// A label key to look up: its source (`None` for any) and name.
#[derive(Debug, Clone, PartialEq)]
struct Key {
    source: Option<String>,
    name: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Operator {
    Exists,
    DoesNotExist,
    Equals(String),
    NotEquals(String),
    In(Vec<String>),
    NotIn(Vec<String>),
    GreaterThan(i64),
    LessThan(i64),
}

impl Selector {
    /// Parses a selector such as `k8s:app=client,env in (prod, test),!debug`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parser = Parser { rest: text };
        let mut requirements = Vec::new();
        parser.skip_spaces();
        if parser.rest.is_empty() {
            return Ok(Self { requirements });
        }
        loop {
            requirements.push(parser.requirement()?);
            parser.skip_spaces();
            if parser.rest.is_empty() {
                break;
            }
            parser.expect(",")?;
        }
        Ok(Self { requirements })
    }

    /// Whether labels in Cilium's `source:key=value` form satisfy it.
    pub fn matches(&self, labels: &[String]) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }
}

impl Requirement {
    fn matches(&self, labels: &[String]) -> bool {
        let value = self.key.lookup(labels);
        match &self.operator {
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
            Operator::Equals(want) => value == Some(want.as_str()),
            Operator::NotEquals(want) => value != Some(want.as_str()),
            Operator::In(set) => value.is_some_and(|v| set.iter().any(|s| s == v)),
            Operator::NotIn(set) => value.is_none_or(|v| !set.iter().any(|s| s == v)),
            Operator::GreaterThan(bound) => value
                .and_then(|v| v.parse::<i64>().ok())
                .is_some_and(|v| v > *bound),
            Operator::LessThan(bound) => value
                .and_then(|v| v.parse::<i64>().ok())
                .is_some_and(|v| v < *bound),
        }
    }
}

impl Key {
    /// A selector key: `source:name`, `source.name` after Hubble's
    /// translation, or a bare name for any source.
    fn parse(text: &str) -> Self {
        match text.split_once(':') {
            Some((source, name)) if source != "any" => Self {
                source: Some(source.to_owned()),
                name: name.to_owned(),
            },
            Some((_, name)) => Self {
                source: None,
                name: name.to_owned(),
            },
            None => Self {
                source: None,
                name: text.to_owned(),
            },
        }
    }

    /// The value of the first label with this key, if any.
    fn lookup<'a>(&self, labels: &'a [String]) -> Option<&'a str> {
        labels.iter().find_map(|label| {
            let (source, rest) = split_label_source(label);
            if self.source.as_deref().is_some_and(|want| want != source) {
                return None;
            }
            let (name, value) = rest.split_once('=').unwrap_or((rest, ""));
            (name == self.name).then_some(value)
        })
    }
}

/// A Cilium label's source and the rest (`k8s:app=x` → `k8s`, `app=x`).
fn split_label_source(label: &str) -> (&str, &str) {
    if let Some(rest) = label.strip_prefix('$') {
        return ("reserved", rest);
    }
    match label.split_once(':') {
        Some((source, rest)) => (source, rest),
        None => match label.strip_prefix("reserved.") {
            Some(rest) => ("reserved", rest),
            None => ("unspec", label),
        },
    }
}

struct Parser<'a> {
    rest: &'a str,
}

impl Parser<'_> {
    fn skip_spaces(&mut self) {
        self.rest = self.rest.trim_start();
    }

    fn expect(&mut self, token: &str) -> Result<(), String> {
        self.skip_spaces();
        match self.rest.strip_prefix(token) {
            Some(rest) => {
                self.rest = rest;
                Ok(())
            }
            None => Err(format!("expected {token:?} at {:?}", self.rest)),
        }
    }

    /// A key or value: everything up to a space, `=`, `!`, `,`, `(`, `)`,
    /// `<` or `>`.
    fn word(&mut self) -> &str {
        self.skip_spaces();
        let end = self
            .rest
            .find(|c: char| c.is_whitespace() || "=!,()<>".contains(c))
            .unwrap_or(self.rest.len());
        let (word, rest) = self.rest.split_at(end);
        self.rest = rest;
        word
    }

    fn requirement(&mut self) -> Result<Requirement, String> {
        self.skip_spaces();
        if let Some(rest) = self.rest.strip_prefix('!') {
            self.rest = rest;
            let key = self.key()?;
            return Ok(Requirement {
                key,
                operator: Operator::DoesNotExist,
            });
        }
        let key = self.key()?;
        self.skip_spaces();
        let operator = if self.rest.is_empty() || self.rest.starts_with(',') {
            Operator::Exists
        } else if let Some(rest) = self.rest.strip_prefix("==") {
            self.rest = rest;
            Operator::Equals(self.value()?)
        } else if let Some(rest) = self.rest.strip_prefix("!=") {
            self.rest = rest;
            Operator::NotEquals(self.value()?)
        } else if let Some(rest) = self.rest.strip_prefix('=') {
            self.rest = rest;
            Operator::Equals(self.value()?)
        } else if let Some(rest) = self.rest.strip_prefix('>') {
            self.rest = rest;
            Operator::GreaterThan(self.number()?)
        } else if let Some(rest) = self.rest.strip_prefix('<') {
            self.rest = rest;
            Operator::LessThan(self.number()?)
        } else {
            match self.word() {
                "in" => Operator::In(self.set()?),
                "notin" => Operator::NotIn(self.set()?),
                other => return Err(format!("unexpected {other:?} after key")),
            }
        };
        Ok(Requirement { key, operator })
    }

    fn key(&mut self) -> Result<Key, String> {
        let word = self.word();
        if word.is_empty() {
            return Err(format!("expected a label key at {:?}", self.rest));
        }
        Ok(Key::parse(word))
    }

    fn value(&mut self) -> Result<String, String> {
        let word = self.word().to_owned();
        validate_value(&word)?;
        Ok(word)
    }

    fn number(&mut self) -> Result<i64, String> {
        let word = self.word();
        word.parse()
            .map_err(|_| format!("expected an integer after > or <, found {word:?}"))
    }

    fn set(&mut self) -> Result<Vec<String>, String> {
        self.expect("(")?;
        let mut values = Vec::new();
        loop {
            values.push(self.value()?);
            self.skip_spaces();
            if let Some(rest) = self.rest.strip_prefix(')') {
                self.rest = rest;
                return Ok(values);
            }
            self.expect(",")?;
        }
    }
}

/// Kubernetes label values: at most 63 characters, alphanumerics with `-`,
/// `_` and `.` inside; empty is allowed.
fn validate_value(value: &str) -> Result<(), String> {
    let valid = value.len() <= 63
        && (value.is_empty()
            || (value.starts_with(|c: char| c.is_ascii_alphanumeric())
                && value.ends_with(|c: char| c.is_ascii_alphanumeric())
                && value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "invalid label value {value:?}: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<String> {
        [
            "k8s:app=client",
            "k8s:io.kubernetes.pod.namespace=cilium-test",
            "k8s:tier=3",
            "reserved:world",
        ]
        .map(String::from)
        .to_vec()
    }

    fn matches(selector: &str) -> bool {
        Selector::parse(selector).unwrap().matches(&labels())
    }

    #[test]
    fn equality_with_and_without_source() {
        assert!(matches("k8s:app=client"));
        assert!(matches("app=client"));
        assert!(matches("app==client"));
        assert!(!matches("k8s:app=server"));
        assert!(!matches("other:app=client"));
        assert!(matches("app!=server"));
        assert!(matches("io.kubernetes.pod.namespace=cilium-test"));
    }

    #[test]
    fn set_based_and_existence() {
        assert!(matches("k8s:app in (client, client2)"));
        assert!(!matches("k8s:app notin (client, client2)"));
        assert!(matches("k8s:kind notin (echo)"));
        assert!(matches("reserved:world"));
        assert!(!matches("!reserved:world"));
        assert!(matches("!reserved:host"));
        assert!(matches("k8s:app=client, k8s:tier>2"));
        assert!(!matches("k8s:tier<3"));
        assert!(matches(""));
    }

    #[test]
    fn malformed_selectors_are_refused() {
        for bad in ["app in client", "app=(x", "=x", "app=a b", "app=-x"] {
            assert!(Selector::parse(bad).is_err(), "{bad}");
        }
        // An empty value is a value.
        assert!(Selector::parse("app=").is_ok());
    }
}
