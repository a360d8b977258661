//! Label selectors as Hubble evaluates them (`pkg/hubble/filters/labels.go`).
//!
//! Hubble first rewrites the selector's keys: Kubernetes keys cannot hold a
//! colon, so `k8s:app` becomes `k8s.app` and a key without a source becomes
//! `any.app`. The result is parsed with the Kubernetes selector grammar
//! (`=`, `==`, `!=`, `in`, `notin`, `>`, `<`, `key`, `!key`), keys and values
//! validated as Kubernetes validates them, and errors worded as its parser
//! words them. Flow labels are Cilium labels (`source:key=value`); a `cidr`
//! selector key selects every CIDR label inside its prefix.

use std::net::IpAddr;

use ipnet::IpNet;

use super::go_quote;

/// A selector that cannot be parsed, with the Kubernetes parser's message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct SelectorError(String);

/// A parsed selector: every requirement must hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Selector {
    requirements: Vec<Requirement>,
}

#[derive(Debug, Clone, PartialEq)]
struct Requirement {
    key: SelectKey,
    operator: Operator,
    /// Sorted and without duplicates, as the Kubernetes parser keeps them.
    values: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Operator {
    In,
    NotIn,
    Equals,
    DoubleEquals,
    NotEquals,
    GreaterThan,
    LessThan,
    Exists,
    DoesNotExist,
}

/// A requirement's key as Cilium looks it up: `k8s.app` is source `k8s`,
/// key `app`; a source of `any` matches every source.
#[derive(Debug, Clone, PartialEq)]
struct SelectKey {
    source: String,
    key: String,
    /// The prefix of a `cidr` key, for containment.
    cidr: Option<IpNet>,
}

/// A flow label in Cilium's `source:key=value` form.
struct Label<'a> {
    source: &'a str,
    key: &'a str,
    value: &'a str,
}

const SOURCE_ANY: &str = "any";
const SOURCE_CIDR: &str = "cidr";
const SOURCE_RESERVED: &str = "reserved";
const SOURCE_UNSPEC: &str = "unspec";

impl Selector {
    /// Parses a selector such as `k8s:app=client,env in (prod, test),!debug`.
    pub fn parse(text: &str) -> Result<Self, SelectorError> {
        let translated = translate(text);
        let requirements = Parser::new(&translated).parse().map_err(SelectorError)?;
        Ok(Self { requirements })
    }

    /// Whether labels in Cilium's `source:key=value` form satisfy it.
    pub fn matches(&self, labels: &[String]) -> bool {
        let mut parsed: Vec<Label<'_>> = labels.iter().map(|l| Label::parse(l)).collect();
        // Cilium sorts a label array by key before looking keys up, so the
        // first of two labels with one key is the one it finds.
        parsed.sort_by(|a, b| a.key.cmp(b.key));
        self.requirements.iter().all(|r| r.matches(&parsed))
    }
}

impl Requirement {
    fn matches(&self, labels: &[Label<'_>]) -> bool {
        let value = self.key.lookup(labels);
        let listed = |value: &str| self.values.iter().any(|v| v == value);
        match self.operator {
            Operator::In | Operator::Equals | Operator::DoubleEquals => value.is_some_and(listed),
            Operator::NotIn | Operator::NotEquals => value.is_none_or(|v| !listed(v)),
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
            Operator::GreaterThan | Operator::LessThan => {
                let (Some(have), Some(bound)) = (
                    value.and_then(|v| v.parse::<i64>().ok()),
                    self.values.first().and_then(|v| v.parse::<i64>().ok()),
                ) else {
                    return false;
                };
                match self.operator {
                    Operator::GreaterThan => have > bound,
                    _ => have < bound,
                }
            }
        }
    }
}

impl SelectKey {
    /// Cilium's reading of a Kubernetes key: the source is what precedes
    /// the first dot (`$` alone means reserved), no dot means any source.
    fn parse(text: &str) -> Self {
        let (source, key) = if let Some(rest) = text.strip_prefix('$') {
            (SOURCE_RESERVED, rest)
        } else {
            match text.split_once('.') {
                Some((source, key)) if !source.is_empty() => (source, key),
                Some((_, key)) => (SOURCE_ANY, key),
                None => (SOURCE_ANY, text),
            }
        };
        Self {
            source: source.to_owned(),
            key: key.to_owned(),
            cidr: (source == SOURCE_CIDR).then(|| cidr_prefix(key)).flatten(),
        }
    }

    /// The value of the first label with this key, if any.
    fn lookup<'a>(&self, labels: &[Label<'a>]) -> Option<&'a str> {
        labels
            .iter()
            .find(|label| self.selects(label))
            .map(|label| label.value)
    }

    fn selects(&self, label: &Label<'_>) -> bool {
        if self.source != SOURCE_ANY && self.source != label.source {
            return false;
        }
        if self.source == SOURCE_CIDR && label.source == SOURCE_CIDR {
            return match (self.cidr, cidr_prefix(label.key)) {
                (Some(outer), Some(inner)) => {
                    outer.prefix_len() <= inner.prefix_len() && outer.contains(&inner.addr())
                }
                _ => false,
            };
        }
        self.key == label.key
    }
}

impl<'a> Label<'a> {
    fn parse(text: &'a str) -> Self {
        let (source, rest) = if let Some(rest) = text.strip_prefix('$') {
            (SOURCE_RESERVED, rest)
        } else if let Some((source, rest)) = text.split_once(':') {
            (
                if source.is_empty() {
                    SOURCE_UNSPEC
                } else {
                    source
                },
                rest,
            )
        } else if let Some(rest) = text.strip_prefix("reserved.") {
            (SOURCE_RESERVED, rest)
        } else {
            (SOURCE_UNSPEC, text)
        };
        let (key, value) = match rest.split_once('=') {
            // `reserved:=x` names the key after the equals sign.
            Some(("", key)) if source == SOURCE_RESERVED => (key, ""),
            Some((key, value)) => (key, value),
            None => (rest, ""),
        };
        Self { source, key, value }
    }
}

/// A CIDR label key as a prefix: IPv6 keys spell `:` as `-`.
fn cidr_prefix(key: &str) -> Option<IpNet> {
    let text = key.replace('-', ":");
    let (address, bits) = text.split_once('/')?;
    let address: IpAddr = address.parse().ok()?;
    // Go refuses signs and leading zeros in the prefix length.
    if bits.is_empty()
        || !bits.bytes().all(|b| b.is_ascii_digit())
        || (bits.len() > 1 && bits.starts_with('0'))
    {
        return None;
    }
    IpNet::new(address, bits.parse().ok()?).ok()
}

/// Hubble's key translation: each key's first `:` becomes `.`, and a key
/// without one gets the `any.` source. A key runs up to a space, `=`, `!`
/// or `,`; from there to the next top-level comma the text is kept as is.
fn translate(selector: &str) -> String {
    let mut out = String::with_capacity(selector.len() + 8);
    let mut chars = selector.chars().peekable();
    while chars.peek().is_some() {
        while let Some(&c) = chars.peek() {
            if !c.is_whitespace() && c != '!' {
                break;
            }
            out.push(c);
            chars.next();
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() || matches!(c, '=' | '!' | ',') {
                break;
            }
            key.push(c);
            chars.next();
        }
        match key.split_once(':') {
            Some((source, rest)) => {
                out.push_str(source);
                out.push('.');
                out.push_str(rest);
            }
            None => {
                out.push_str("any.");
                out.push_str(&key);
            }
        }
        let mut nesting = 0i32;
        for c in chars.by_ref() {
            match c {
                '(' => nesting += 1,
                ')' => nesting -= 1,
                _ => {}
            }
            out.push(c);
            if c == ',' && nesting == 0 {
                break;
            }
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Token {
    EndOfString,
    ClosedPar,
    Comma,
    DoesNotExist,
    DoubleEquals,
    Equals,
    GreaterThan,
    Identifier,
    In,
    LessThan,
    NotEquals,
    NotIn,
    OpenPar,
}

/// Where the parser is: `in` and `notin` are values inside a value list.
#[derive(Clone, Copy, PartialEq)]
enum Context {
    KeyAndOperator,
    Values,
}

fn keyword(text: &str) -> Option<Token> {
    Some(match text {
        ")" => Token::ClosedPar,
        "," => Token::Comma,
        "!" => Token::DoesNotExist,
        "==" => Token::DoubleEquals,
        "=" => Token::Equals,
        ">" => Token::GreaterThan,
        "in" => Token::In,
        "<" => Token::LessThan,
        "!=" => Token::NotEquals,
        "notin" => Token::NotIn,
        "(" => Token::OpenPar,
        _ => return None,
    })
}

fn is_special(byte: u8) -> bool {
    matches!(byte, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
}

fn is_blank(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\r' | b'\n')
}

/// The Kubernetes lexer. It works on bytes and, as the original, reads a
/// NUL byte as the end of the text.
struct Lexer<'a> {
    text: &'a [u8],
    position: usize,
}

impl Lexer<'_> {
    fn read(&mut self) -> u8 {
        match self.text.get(self.position) {
            Some(&byte) => {
                self.position += 1;
                byte
            }
            None => 0,
        }
    }

    fn unread(&mut self) {
        self.position -= 1;
    }

    fn lex(&mut self) -> (Token, String) {
        let mut byte = self.read();
        while is_blank(byte) {
            byte = self.read();
        }
        if byte == 0 {
            return (Token::EndOfString, String::new());
        }
        self.unread();
        if is_special(byte) {
            self.special()
        } else {
            self.identifier()
        }
    }

    fn identifier(&mut self) -> (Token, String) {
        let start = self.position;
        let mut end = start;
        loop {
            let byte = self.read();
            if byte == 0 {
                break;
            }
            if is_special(byte) || is_blank(byte) {
                self.unread();
                break;
            }
            end = self.position;
        }
        let text = String::from_utf8_lossy(&self.text[start..end]).into_owned();
        (keyword(&text).unwrap_or(Token::Identifier), text)
    }

    /// The longest operator made of special characters; every single one
    /// is an operator, so this always finds one.
    fn special(&mut self) -> (Token, String) {
        let start = self.position;
        let mut found = (Token::EndOfString, String::new());
        loop {
            let byte = self.read();
            if byte == 0 {
                break;
            }
            if !is_special(byte) {
                self.unread();
                break;
            }
            let text = String::from_utf8_lossy(&self.text[start..self.position]).into_owned();
            match keyword(&text) {
                Some(token) => found = (token, text),
                None => {
                    self.unread();
                    break;
                }
            }
        }
        found
    }
}

/// The Kubernetes selector parser, with its error messages.
struct Parser {
    items: Vec<(Token, String)>,
    position: usize,
}

impl Parser {
    fn new(text: &str) -> Self {
        let mut lexer = Lexer {
            text: text.as_bytes(),
            position: 0,
        };
        let mut items = Vec::new();
        loop {
            let item = lexer.lex();
            let end = item.0 == Token::EndOfString;
            items.push(item);
            if end {
                break;
            }
        }
        Self { items, position: 0 }
    }

    fn lookahead(&self, context: Context) -> (Token, &str) {
        let (token, text) = &self.items[self.position.min(self.items.len() - 1)];
        (in_context(*token, context), text)
    }

    fn consume(&mut self, context: Context) -> (Token, String) {
        let index = self.position.min(self.items.len() - 1);
        self.position += 1;
        let (token, text) = &self.items[index];
        (in_context(*token, context), text.clone())
    }

    fn parse(&mut self) -> Result<Vec<Requirement>, String> {
        let mut requirements = Vec::new();
        loop {
            let (token, text) = self.lookahead(Context::Values);
            match token {
                Token::Identifier | Token::DoesNotExist => {
                    let requirement = self
                        .requirement()
                        .map_err(|e| format!("unable to parse requirement: {e}"))?;
                    requirements.push(requirement);
                    let (token, text) = self.consume(Context::Values);
                    match token {
                        Token::EndOfString => break,
                        Token::Comma => {
                            let (next, text) = self.lookahead(Context::Values);
                            if next != Token::Identifier && next != Token::DoesNotExist {
                                return Err(format!(
                                    "found '{text}', expected: identifier after ','"
                                ));
                            }
                        }
                        _ => {
                            return Err(format!(
                                "found '{text}', expected: ',' or 'end of string'"
                            ));
                        }
                    }
                }
                Token::EndOfString => break,
                _ => {
                    return Err(format!(
                        "found '{text}', expected: !, identifier, or 'end of string'"
                    ));
                }
            }
        }
        // Kubernetes sorts requirements by key; all must hold, so the order
        // only matters for equality.
        requirements.sort_by(|a: &Requirement, b| a.key.key.cmp(&b.key.key));
        Ok(requirements)
    }

    fn requirement(&mut self) -> Result<Requirement, String> {
        let mut negated = false;
        let (mut token, mut key) = self.consume(Context::Values);
        if token == Token::DoesNotExist {
            negated = true;
            (token, key) = self.consume(Context::Values);
        }
        if token != Token::Identifier {
            return Err(format!("found '{key}', expected: identifier"));
        }
        let key_errors = label_key_errors(&key);
        if !key_errors.is_empty() {
            return Err(field_invalid("<nil>", &key, &key_errors));
        }
        let (next, _) = self.lookahead(Context::Values);
        let operator = if negated {
            Operator::DoesNotExist
        } else if matches!(next, Token::EndOfString | Token::Comma) {
            Operator::Exists
        } else {
            self.operator()?
        };
        let values = match operator {
            Operator::Exists | Operator::DoesNotExist => Vec::new(),
            Operator::In | Operator::NotIn => self.value_set()?,
            _ => self.exact_value()?,
        };
        new_requirement(key, operator, values)
    }

    fn operator(&mut self) -> Result<Operator, String> {
        let (token, text) = self.consume(Context::KeyAndOperator);
        Ok(match token {
            Token::In => Operator::In,
            Token::Equals => Operator::Equals,
            Token::DoubleEquals => Operator::DoubleEquals,
            Token::GreaterThan => Operator::GreaterThan,
            Token::LessThan => Operator::LessThan,
            Token::NotIn => Operator::NotIn,
            Token::NotEquals => Operator::NotEquals,
            _ => {
                return Err(format!(
                    "found '{text}', expected: in, notin, =, ==, !=, gt, lt"
                ));
            }
        })
    }

    fn value_set(&mut self) -> Result<Vec<String>, String> {
        let (token, text) = self.consume(Context::Values);
        if token != Token::OpenPar {
            return Err(format!("found '{text}' expected: '('"));
        }
        let (token, text) = self.lookahead(Context::Values);
        let text = text.to_owned();
        match token {
            Token::Identifier | Token::Comma => {
                let values = self.identifiers()?;
                if self.consume(Context::Values).0 != Token::ClosedPar {
                    return Err(format!("found '{text}', expected: ')'"));
                }
                Ok(values)
            }
            Token::ClosedPar => {
                self.consume(Context::Values);
                Ok(vec![String::new()])
            }
            _ => Err(format!("found '{text}', expected: ',', ')' or identifier")),
        }
    }

    /// A comma-separated list in which empty items are empty values.
    fn identifiers(&mut self) -> Result<Vec<String>, String> {
        let mut values = Vec::new();
        loop {
            let (token, text) = self.consume(Context::Values);
            match token {
                Token::Identifier => {
                    values.push(text);
                    let (next, text) = self.lookahead(Context::Values);
                    match next {
                        Token::Comma => continue,
                        Token::ClosedPar => return Ok(sorted_set(values)),
                        _ => return Err(format!("found '{text}', expected: ',' or ')'")),
                    }
                }
                Token::Comma => {
                    if values.is_empty() {
                        values.push(String::new());
                    }
                    let (next, _) = self.lookahead(Context::Values);
                    if next == Token::ClosedPar {
                        values.push(String::new());
                        return Ok(sorted_set(values));
                    }
                    if next == Token::Comma {
                        values.push(String::new());
                    }
                }
                _ => return Err(format!("found '{text}', expected: ',', or identifier")),
            }
        }
    }

    fn exact_value(&mut self) -> Result<Vec<String>, String> {
        let (token, _) = self.lookahead(Context::Values);
        if matches!(token, Token::EndOfString | Token::Comma) {
            return Ok(vec![String::new()]);
        }
        let (token, text) = self.consume(Context::Values);
        if token == Token::Identifier {
            Ok(vec![text])
        } else {
            Err(format!("found '{text}', expected: identifier"))
        }
    }
}

fn in_context(token: Token, context: Context) -> Token {
    match (context, token) {
        (Context::Values, Token::In | Token::NotIn) => Token::Identifier,
        _ => token,
    }
}

fn sorted_set(mut values: Vec<String>) -> Vec<String> {
    values.sort();
    values.dedup();
    values
}

/// Kubernetes' `NewRequirement`: checks the values and reports every
/// problem at once.
fn new_requirement(
    key: String,
    operator: Operator,
    values: Vec<String>,
) -> Result<Requirement, String> {
    let mut errors: Vec<String> = Vec::new();
    if matches!(operator, Operator::GreaterThan | Operator::LessThan) {
        for (index, value) in values.iter().enumerate() {
            if value.parse::<i64>().is_err() {
                errors.push(field_invalid(
                    &format!("values[{index}]"),
                    value,
                    &["for 'Gt', 'Lt' operators, the value must be an integer".to_owned()],
                ));
            }
        }
    }
    for (index, value) in values.iter().enumerate() {
        let value_errors = label_value_errors(value);
        if !value_errors.is_empty() {
            errors.push(field_invalid(
                &format!("values[{index}][{key}]"),
                value,
                &value_errors,
            ));
        }
    }
    errors.dedup();
    match errors.len() {
        0 => Ok(Requirement {
            key: SelectKey::parse(&key),
            operator,
            values,
        }),
        1 => Err(errors.remove(0)),
        _ => Err(format!("[{}]", errors.join(", "))),
    }
}

/// A Kubernetes `field.Invalid` error as text.
fn field_invalid(field: &str, value: &str, details: &[String]) -> String {
    format!(
        "{field}: Invalid value: {}: {}",
        go_quote(value),
        details.join("; ")
    )
}

const LABEL_KEY_FORMAT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const LABEL_KEY_MESSAGE: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_FORMAT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const LABEL_VALUE_MESSAGE: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const SUBDOMAIN_FORMAT: &str = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const SUBDOMAIN_MESSAGE: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";

/// Kubernetes' wording for a value that does not match a format; it
/// really puts two spaces before each "or".
fn regex_error(message: &str, format: &str, examples: &[&str]) -> String {
    let examples: Vec<String> = examples.iter().map(|e| format!("'{e}', ")).collect();
    format!(
        "{message} (e.g. {}regex used for validation is '{format}')",
        examples.join(" or ")
    )
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`, the shape of key names and
/// non-empty values.
fn is_label_name(text: &str) -> bool {
    let alphanumeric = |c: char| c.is_ascii_alphanumeric();
    text.starts_with(alphanumeric)
        && text.ends_with(alphanumeric)
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// RFC 1123 subdomain: dot-separated lower-case labels.
fn is_subdomain(text: &str) -> bool {
    text.split('.').all(|label| {
        let alphanumeric = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
        label.starts_with(alphanumeric)
            && label.ends_with(alphanumeric)
            && label.chars().all(|c| alphanumeric(c) || c == '-')
    })
}

/// Kubernetes' `IsQualifiedName`: an optional DNS subdomain prefix and `/`,
/// then a name of at most 63 characters.
fn label_key_errors(key: &str) -> Vec<String> {
    let mut errors = Vec::new();
    let parts: Vec<&str> = key.split('/').collect();
    let name = match parts[..] {
        [name] => name,
        [prefix, name] => {
            if prefix.is_empty() {
                errors.push("prefix part must be non-empty".to_owned());
            } else {
                if prefix.len() > 253 {
                    errors.push("prefix part must be no more than 253 bytes".to_owned());
                }
                if !is_subdomain(prefix) {
                    errors.push(format!(
                        "prefix part {}",
                        regex_error(SUBDOMAIN_MESSAGE, SUBDOMAIN_FORMAT, &["example.com"])
                    ));
                }
            }
            name
        }
        _ => {
            errors.push(format!(
                "a valid label key {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                regex_error(
                    LABEL_KEY_MESSAGE,
                    LABEL_KEY_FORMAT,
                    &["MyName", "my.name", "123-abc"]
                )
            ));
            return errors;
        }
    };
    if name.is_empty() {
        errors.push("name part must be non-empty".to_owned());
    } else if name.len() > 63 {
        errors.push("name part must be no more than 63 bytes".to_owned());
    }
    if !is_label_name(name) {
        errors.push(format!(
            "name part {}",
            regex_error(
                LABEL_KEY_MESSAGE,
                LABEL_KEY_FORMAT,
                &["MyName", "my.name", "123-abc"]
            )
        ));
    }
    errors
}

/// Kubernetes' `IsValidLabelValue`: empty, or a name of at most 63
/// characters.
fn label_value_errors(value: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if value.len() > 63 {
        errors.push("must be no more than 63 bytes".to_owned());
    }
    if !value.is_empty() && !is_label_name(value) {
        errors.push(regex_error(
            LABEL_VALUE_MESSAGE,
            LABEL_VALUE_FORMAT,
            &["MyValue", "my_value", "12345"],
        ));
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<String> {
        [
            "k8s:app=client",
            "k8s:io.kubernetes.pod.namespace=cilium-test",
            "k8s:app.kubernetes.io/name=hubble-ui",
            "k8s:tier=3",
            "container:app=sidecar",
            "reserved:world",
            "cidr:10.16.0.0/24",
            "cidr:fd00-10-16-0-0-0-0-0/112",
        ]
        .map(String::from)
        .to_vec()
    }

    fn matches(selector: &str) -> bool {
        Selector::parse(selector)
            .unwrap_or_else(|e| panic!("{selector}: {e}"))
            .matches(&labels())
    }

    fn error(selector: &str) -> String {
        Selector::parse(selector).expect_err(selector).to_string()
    }

    #[test]
    fn keys_are_translated_as_hubble_translates_them() {
        assert_eq!(translate("k8s:app=foo"), "k8s.app=foo");
        assert_eq!(translate("app=foo"), "any.app=foo");
        assert_eq!(translate("any:app"), "any.app");
        assert_eq!(translate("!reserved:world"), "!reserved.world");
        assert_eq!(
            translate("k8s:app in (a, b), !x,y!=z"),
            "k8s.app in (a, b), !any.x,any.y!=z"
        );
        // Only a key's first colon is a source separator; values are kept.
        assert_eq!(translate("a:b:c=d:e"), "a.b:c=d:e");
        assert_eq!(translate(" "), " any.");
        assert_eq!(translate(""), "");
    }

    #[test]
    fn equality_with_and_without_source() {
        assert!(matches("k8s:app=client"));
        assert!(matches("app=client"));
        assert!(matches("any:app==client"));
        assert!(!matches("k8s:app=server"));
        assert!(!matches("other:app=client"));
        assert!(matches("container:app=sidecar"));
        assert!(matches("app!=server"));
        assert!(matches("k8s:io.kubernetes.pod.namespace=cilium-test"));
        assert!(matches("k8s:app.kubernetes.io/name=hubble-ui"));
        // An empty value only equals an empty value.
        assert!(!matches("app="));
        assert!(matches("reserved:world="));
    }

    #[test]
    fn set_based_existence_and_comparisons() {
        assert!(matches("k8s:app in (client, client2)"));
        assert!(!matches("k8s:app notin (client, client2)"));
        assert!(matches("k8s:kind notin (echo)"));
        assert!(matches("k8s:app in (in, notin, client)"));
        assert!(matches("reserved:world"));
        assert!(!matches("!reserved:world"));
        assert!(matches("!reserved:host"));
        assert!(matches("k8s:app=client, k8s:tier>2"));
        assert!(!matches("k8s:tier<3"));
        assert!(!matches("k8s:app>2"));
        assert!(matches("k8s:app notin ()"));
        assert!(matches("reserved:world in ()"));
        assert!(matches("reserved:world in (,x)"));
        assert!(matches(""));
        assert!(matches("app\tin\t(client)"));
    }

    #[test]
    fn cidr_selectors_select_labels_inside_their_prefix() {
        assert!(matches("cidr:10.0.0.0/8"));
        assert!(matches("cidr:10.16.0.0/24"));
        assert!(!matches("cidr:10.16.0.0/25"));
        assert!(!matches("cidr:192.168.0.0/16"));
        assert!(matches("cidr:fd00-0-0-0-0-0-0-0/8"));
        assert!(!matches("!cidr:10.0.0.0/8"));
    }

    #[test]
    fn syntax_errors_are_worded_as_kubernetes_words_them() {
        assert_eq!(
            error("bad selector"),
            "unable to parse requirement: found 'selector', expected: in, notin, =, ==, !=, gt, lt"
        );
        assert_eq!(
            error("app=a b"),
            "found 'b', expected: ',' or 'end of string'"
        );
        assert_eq!(
            error("app in (a"),
            "unable to parse requirement: found '', expected: ',' or ')'"
        );
        assert_eq!(
            error("app in a"),
            "unable to parse requirement: found 'a' expected: '('"
        );
        // A trailing comma leaves nothing to translate after it.
        assert_eq!(error("app=x,"), "found '', expected: identifier after ','");
        assert_eq!(
            error("app==(x)"),
            "unable to parse requirement: found '(', expected: identifier"
        );
    }

    #[test]
    fn keys_and_values_are_validated() {
        assert_eq!(
            error("k8s:app in (b, -a)"),
            "unable to parse requirement: values[0][k8s.app]: Invalid value: \"-a\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
        );
        assert_eq!(
            error("tier>abc"),
            "unable to parse requirement: values[0]: Invalid value: \"abc\": for 'Gt', 'Lt' operators, the value must be an integer"
        );
        // A negative bound is an integer but not a label value.
        assert!(error("tier>-1").starts_with(
            "unable to parse requirement: values[0][any.tier]: Invalid value: \"-1\": a valid label"
        ));
        let long = "a".repeat(64);
        assert!(error(&format!("app={long}")).ends_with(&format!(
            "Invalid value: \"{long}\": must be no more than 63 bytes"
        )));
        assert!(error(&format!("k8s:{long}")).contains("name part must be no more than 63 bytes"));
        assert!(error("k8s:Foo/bar").contains(
            "<nil>: Invalid value: \"k8s.Foo/bar\": prefix part a lowercase RFC 1123 subdomain"
        ));
        assert!(error("a/b/c").contains(
            "Invalid value: \"any.a/b/c\": a valid label key must consist of alphanumeric"
        ));
        assert!(error("k8s:/x").contains("prefix part a lowercase RFC 1123"));
        assert!(error("k8s.io/").contains("name part must be non-empty; name part must consist"));
    }

    #[test]
    fn several_value_errors_are_listed_together() {
        assert_eq!(
            error("tier>-x"),
            "unable to parse requirement: [values[0]: Invalid value: \"-x\": for 'Gt', 'Lt' operators, the value must be an integer, values[0][any.tier]: Invalid value: \"-x\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')]"
        );
    }

    #[test]
    fn whitespace_alone_is_a_missing_key() {
        assert!(error(" ").contains("Invalid value: \"any.\""));
        assert!(error("!").contains("Invalid value: \"any.\""));
    }

    /// Any text typed as a selector is parsed or refused with a message,
    /// never a panic, and a parsed selector evaluates on any labels.
    #[test]
    fn random_selectors_parse_or_are_refused_without_panicking() {
        const PIECES: &[&str] = &[
            "k8s", "app", "any", "cidr", "reserved", "10.0.0.0", "/8", "fd00-", ":", ".", "/", "=",
            "==", "!=", "!", ",", "(", ")", " ", "in", "notin", ">", "<", "-", "_", "1", "x", "é",
            "\0", "\t",
        ];
        let mut next = crate::testing::numbers(0x5851_f42d_4c95_7f2d);
        let mut parsed = 0;
        for _ in 0..20_000 {
            let text: String = (0..=next(12))
                .map(|_| PIECES[next(PIECES.len() as u64) as usize])
                .collect();
            match Selector::parse(&text) {
                Ok(selector) => {
                    parsed += 1;
                    selector.matches(&labels());
                }
                Err(error) => assert!(!error.to_string().is_empty(), "{text:?}"),
            }
        }
        assert!(parsed >= 100, "only {parsed} random selectors parsed");
    }
}
