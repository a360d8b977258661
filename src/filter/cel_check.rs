//! The type check cel-go runs on a `--cel-expression` before Hubble uses it
//! (cilium pkg/hubble/filters/cel_expression.go): in container `flow`, with
//! `_flow` a `flow.Flow`, an undeclared name, an unknown field, a call that
//! fits no overload or a result other than `bool` is an error, reported as
//! cel-go words it. The `cel` crate only parses and evaluates, so hubl
//! checks the parsed expression here, with cel-go's standard declarations
//! (without cross-type numeric comparisons, which Hubble does not enable).

use std::fmt;

use cel::{
    common::ast::SourceInfo,
    common::ast::{CallExpr, ComprehensionExpr, EntryExpr, Expr, IdedExpr, LiteralValue},
};
use prost_types::field_descriptor_proto::{Label, Type as FieldType};

use super::cel::SCHEMA;

/// The container Hubble's CEL environment declares.
const CONTAINER: &str = "flow";

/// The variable that holds the flow.
pub const FLOW_VARIABLE: &str = "_flow";

/// A CEL type, as the checker infers it.
#[derive(Clone, Debug, PartialEq)]
enum Ty {
    Bool,
    Int,
    Uint,
    Double,
    String,
    Bytes,
    Null,
    Dyn,
    Timestamp,
    Duration,
    /// A message, by full name without the leading dot (`flow.Flow`).
    Message(String),
    /// `google.protobuf.BoolValue` and the other wrappers of a primitive.
    Wrapper(Box<Ty>),
    List(Box<Ty>),
    Map(Box<Ty>, Box<Ty>),
    /// A type as a value: `int`, `type(1)`.
    Type(Box<Ty>),
    /// The element of an empty list or map literal, taken by what joins it.
    Free,
    /// Something already reported: no further error about it.
    Error,
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ty::Bool => f.write_str("bool"),
            Ty::Int => f.write_str("int"),
            Ty::Uint => f.write_str("uint"),
            Ty::Double => f.write_str("double"),
            Ty::String => f.write_str("string"),
            Ty::Bytes => f.write_str("bytes"),
            Ty::Null => f.write_str("null_type"),
            Ty::Dyn | Ty::Free => f.write_str("dyn"),
            Ty::Timestamp => f.write_str("timestamp"),
            Ty::Duration => f.write_str("duration"),
            Ty::Message(name) => f.write_str(name),
            Ty::Wrapper(inner) => write!(f, "wrapper({inner})"),
            Ty::List(element) => write!(f, "list({element})"),
            Ty::Map(key, value) => write!(f, "map({key}, {value})"),
            Ty::Type(inner) => write!(f, "type({inner})"),
            Ty::Error => f.write_str("*error*"),
        }
    }
}

impl Ty {
    /// The name cel-go gives a checked expression's type, which spells the
    /// well-known types out, unlike its overload errors.
    fn result_name(&self) -> String {
        match self {
            Ty::Timestamp => "google.protobuf.Timestamp".into(),
            Ty::Duration => "google.protobuf.Duration".into(),
            Ty::Wrapper(inner) => format!("wrapper({})", inner.result_name()),
            Ty::List(element) => format!("list({})", element.result_name()),
            Ty::Map(key, value) => format!("map({}, {})", key.result_name(), value.result_name()),
            Ty::Type(inner) => format!("type({})", inner.result_name()),
            other => other.to_string(),
        }
    }

    fn is_dyn(&self) -> bool {
        matches!(self, Ty::Dyn | Ty::Free | Ty::Error)
    }

    /// The type both `self` and `other` are, if any: what a type parameter
    /// of an overload (`_==_(A, A)`) binds to.
    fn join(&self, other: &Ty) -> Option<Ty> {
        match (self, other) {
            (Ty::Error, _) | (_, Ty::Error) => Some(Ty::Error),
            (Ty::Free, t) | (t, Ty::Free) => Some(t.clone()),
            (Ty::Dyn, _) | (_, Ty::Dyn) => Some(Ty::Dyn),
            (a, b) if a == b => Some(a.clone()),
            (Ty::Wrapper(inner), t) | (t, Ty::Wrapper(inner)) if **inner == *t => Some(t.clone()),
            (Ty::Null, t) | (t, Ty::Null) if t.is_nullable() => Some(t.clone()),
            (Ty::Type(_), Ty::Type(_)) => Some(Ty::Type(Box::new(Ty::Dyn))),
            (Ty::List(a), Ty::List(b)) => Some(Ty::List(Box::new(a.join(b)?))),
            (Ty::Map(ak, av), Ty::Map(bk, bv)) => {
                Some(Ty::Map(Box::new(ak.join(bk)?), Box::new(av.join(bv)?)))
            }
            _ => None,
        }
    }

    fn is_nullable(&self) -> bool {
        matches!(
            self,
            Ty::Message(_) | Ty::Wrapper(_) | Ty::Timestamp | Ty::Duration
        )
    }

    /// Whether a value of this type fits a parameter of type `want`.
    fn fits(&self, want: &Ty) -> bool {
        self.is_dyn()
            || match self {
                Ty::Wrapper(inner) => **inner == *want,
                _ => self == want,
            }
    }
}

/// One problem found, at a byte offset of the expression.
struct Issue {
    offset: usize,
    message: String,
}

/// Checks `expression` (already parsed by the `cel` crate) as cel-go checks
/// Hubble's expressions; the error is cel-go's text, issues sorted by place.
pub fn check(expression: &IdedExpr, source: &SourceInfo, text: &str) -> Result<(), String> {
    let mut checker = Checker {
        source,
        issues: Vec::new(),
        scopes: Vec::new(),
    };
    let result = checker.check(expression);
    if !checker.issues.is_empty() {
        checker.issues.sort_by_key(|issue| issue.offset);
        let report: Vec<String> = checker
            .issues
            .iter()
            .map(|issue| {
                let before = &text[..issue.offset.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let column = before
                    .rsplit('\n')
                    .next()
                    .unwrap_or_default()
                    .chars()
                    .count()
                    + 1;
                format_issue(text, line, column, &issue.message)
            })
            .collect();
        return Err(report.join("\n"));
    }
    match result {
        Ty::Bool => Ok(()),
        other => Err(format!(
            "got {:?}, wanted \"bool\" result type",
            other.result_name()
        )),
    }
}

/// An issue as cel-go prints it: the place (1-based), the message, the
/// line and a caret under the column.
pub fn format_issue(text: &str, line: usize, column: usize, message: &str) -> String {
    let snippet = text
        .lines()
        .nth(line.saturating_sub(1))
        .unwrap_or_default()
        .replace('\t', " ");
    // cel-go marks a character of more than one byte with a wide dot.
    let dots: String = snippet
        .chars()
        .chain(std::iter::repeat(' '))
        .take(column.saturating_sub(1))
        .map(|c| if c.len_utf8() > 1 { '\u{ff0e}' } else { '.' })
        .collect();
    format!("ERROR: <input>:{line}:{column}: {message}\n | {snippet}\n | {dots}^")
}

struct Checker<'a> {
    source: &'a SourceInfo,
    issues: Vec<Issue>,
    /// Comprehension variables, innermost last.
    scopes: Vec<(String, Ty)>,
}

impl Checker<'_> {
    fn report(&mut self, expression: &IdedExpr, message: String) -> Ty {
        self.report_at(expression.id, message)
    }

    fn report_at(&mut self, id: u64, message: String) -> Ty {
        let offset = self
            .source
            .offset_for(id)
            .map_or(0, |(start, _)| start as usize);
        self.issues.push(Issue { offset, message });
        Ty::Error
    }

    fn check(&mut self, expression: &IdedExpr) -> Ty {
        match &expression.expr {
            Expr::Unspecified => Ty::Error,
            Expr::Literal(literal) => match literal {
                LiteralValue::Boolean(_) => Ty::Bool,
                LiteralValue::Bytes(_) => Ty::Bytes,
                LiteralValue::Double(_) => Ty::Double,
                LiteralValue::Int(_) => Ty::Int,
                LiteralValue::Null => Ty::Null,
                LiteralValue::String(_) => Ty::String,
                LiteralValue::UInt(_) => Ty::Uint,
            },
            Expr::Ident(_) | Expr::Select(_) => self.check_name_or_select(expression),
            Expr::List(list) => {
                let mut element = Ty::Free;
                for item in &list.elements {
                    let ty = self.check(item);
                    element = element.join(&ty).unwrap_or(Ty::Dyn);
                }
                Ty::List(Box::new(element))
            }
            Expr::Map(map) => {
                let (mut key, mut value) = (Ty::Free, Ty::Free);
                for entry in &map.entries {
                    if let EntryExpr::MapEntry(entry) = &entry.expr {
                        let k = self.check(&entry.key);
                        let v = self.check(&entry.value);
                        key = key.join(&k).unwrap_or(Ty::Dyn);
                        value = value.join(&v).unwrap_or(Ty::Dyn);
                    }
                }
                Ty::Map(Box::new(key), Box::new(value))
            }
            Expr::Struct(structure) => {
                let Some(name) = resolve_type_name(&structure.type_name) else {
                    return self.report(
                        expression,
                        format!(
                            "undeclared reference to '{}' (in container '{CONTAINER}')",
                            structure.type_name
                        ),
                    );
                };
                for entry in &structure.entries {
                    if let EntryExpr::StructField(field) = &entry.expr {
                        self.check(&field.value);
                        if field_type(&name, &field.field).is_none() {
                            let message = format!("undefined field '{}'", field.field);
                            self.report_at(entry.id, message);
                        }
                    }
                }
                Ty::Message(name)
            }
            Expr::Call(call) => self.check_call(expression, call),
            Expr::Comprehension(comprehension) => self.check_comprehension(comprehension),
        }
    }

    /// An identifier or a field selection: a qualified name is resolved
    /// longest prefix first, as cel-go does (`Verdict.DROPPED`, `flow.Flow`).
    fn check_name_or_select(&mut self, expression: &IdedExpr) -> Ty {
        // A comprehension variable shadows every declaration.
        if let Some(segments) = qualified_name(expression)
            && !self.scopes.iter().any(|(name, _)| name == segments[0])
        {
            for length in (1..=segments.len()).rev() {
                if let Some(ty) = resolve_name(&segments[..length].join(".")) {
                    return self.select_rest(expression, segments.len() - length, ty);
                }
            }
            let message = format!(
                "undeclared reference to '{}' (in container '{CONTAINER}')",
                segments[0]
            );
            return self.report(root_of(expression), message);
        }
        match &expression.expr {
            Expr::Ident(name) => self
                .scopes
                .iter()
                .rev()
                .find(|(n, _)| n == name)
                .map_or(Ty::Dyn, |(_, ty)| ty.clone()),
            Expr::Select(select) => {
                let operand = self.check(&select.operand);
                let ty = self.select(expression, &operand, &select.field);
                if select.test { Ty::Bool } else { ty }
            }
            _ => Ty::Error,
        }
    }

    /// The type of `expression` once the innermost `depth` selections of
    /// it, of a name that resolved to `ty`, are applied.
    fn select_rest(&mut self, expression: &IdedExpr, depth: usize, ty: Ty) -> Ty {
        if depth == 0 {
            return ty;
        }
        let Expr::Select(select) = &expression.expr else {
            return ty;
        };
        let operand = self.select_rest(&select.operand, depth - 1, ty);
        self.select(expression, &operand, &select.field)
    }

    fn select(&mut self, expression: &IdedExpr, operand: &Ty, field: &str) -> Ty {
        match operand {
            Ty::Message(name) => match field_type(name, field) {
                Some(ty) => ty,
                None => self.report(expression, format!("undefined field '{field}'")),
            },
            Ty::Map(_, value) => (**value).clone(),
            t if t.is_dyn() => Ty::Dyn,
            other => self.report(
                expression,
                format!("type '{other}' does not support field selection"),
            ),
        }
    }

    fn check_call(&mut self, expression: &IdedExpr, call: &CallExpr) -> Ty {
        let target = call.target.as_ref().map(|target| self.check(target));
        let args: Vec<Ty> = call.args.iter().map(|arg| self.check(arg)).collect();
        if target.is_none() && matches!(call.func_name.as_str(), "_&&_" | "_||_") {
            // cel-go checks each side of a logical operator on its own.
            for (arg, ty) in call.args.iter().zip(&args) {
                if !ty.fits(&Ty::Bool) {
                    self.report(arg, format!("expected type 'bool' but found '{ty}'"));
                }
            }
            return Ty::Bool;
        }
        if target.iter().chain(&args).any(|ty| *ty == Ty::Error) {
            return Ty::Error;
        }
        match overload(&call.func_name, target.as_ref(), &args) {
            Overload::Result(ty) => {
                if call.func_name == "_+_" {
                    self.bind_free(&call.args, &ty);
                }
                ty
            }
            Overload::Unknown => self.report(
                expression,
                format!(
                    "undeclared reference to '{}' (in container '{CONTAINER}')",
                    call.func_name
                ),
            ),
            Overload::NoMatch => {
                let list = args
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ");
                let applied = match &target {
                    Some(target) => format!("{target}.({list})"),
                    None => format!("({list})"),
                };
                self.report(
                    expression,
                    format!(
                        "found no matching overload for '{}' applied to '{applied}'",
                        call.func_name
                    ),
                )
            }
        }
    }

    /// Appending to a comprehension's empty list binds its element type,
    /// as a type variable of cel-go is bound once unified: in
    /// `c ? @result + [x] : @result` the second `@result` is a list of x.
    fn bind_free(&mut self, args: &[IdedExpr], ty: &Ty) {
        for arg in args {
            if let Expr::Ident(name) = &arg.expr
                && let Some((_, bound)) = self.scopes.iter_mut().rev().find(|(n, _)| n == name)
                && matches!(bound, Ty::List(element) if **element == Ty::Free)
            {
                *bound = ty.clone();
            }
        }
    }

    fn check_comprehension(&mut self, comprehension: &ComprehensionExpr) -> Ty {
        let range = self.check(&comprehension.iter_range);
        let element = match &range {
            Ty::List(element) => (**element).clone(),
            Ty::Map(key, _) => (**key).clone(),
            t if t.is_dyn() => Ty::Dyn,
            other => {
                let message = format!(
                    "expression of type '{other}' cannot be range of a comprehension \
                     (must be list, map, or dynamic)"
                );
                self.report(&comprehension.iter_range, message);
                Ty::Error
            }
        };
        let init = self.check(&comprehension.accu_init);
        self.scopes
            .push((comprehension.accu_var.clone(), init.clone()));
        self.scopes.push((comprehension.iter_var.clone(), element));
        let condition = self.check(&comprehension.loop_cond);
        if !condition.fits(&Ty::Bool) {
            let message = format!("expected type 'bool' but found '{condition}'");
            self.report(&comprehension.loop_cond, message);
        }
        let reported = self.issues.len();
        let step = self.check(&comprehension.loop_step);
        // The accumulator takes the more precise type of the step, as
        // cel-go's type inference does: the `[]` of `map` becomes a list of
        // what it appends. The step is checked again with it.
        let accumulator = match step {
            Ty::Error => init.clone(),
            step => init.join(&step).unwrap_or(Ty::Dyn),
        };
        if self.issues.len() == reported && accumulator != init {
            self.issues.truncate(reported);
            let at = self.scopes.len() - 2;
            self.scopes[at].1 = accumulator.clone();
            self.check(&comprehension.loop_step);
        }
        self.scopes.pop();
        self.scopes.pop();
        self.scopes
            .push((comprehension.accu_var.clone(), accumulator));
        let result = self.check(&comprehension.result);
        self.scopes.pop();
        result
    }
}

/// `a.b.c` as its segments, when `expression` spells such a name.
fn qualified_name(expression: &IdedExpr) -> Option<Vec<&str>> {
    match &expression.expr {
        Expr::Ident(name) => Some(vec![name]),
        Expr::Select(select) if !select.test => {
            let mut segments = qualified_name(&select.operand)?;
            segments.push(&select.field);
            Some(segments)
        }
        _ => None,
    }
}

fn root_of(expression: &IdedExpr) -> &IdedExpr {
    match &expression.expr {
        Expr::Select(select) => root_of(&select.operand),
        _ => expression,
    }
}

/// A declared name, tried in the container first: the variable, an enum
/// value (as an int), a type.
fn resolve_name(name: &str) -> Option<Ty> {
    if name == FLOW_VARIABLE {
        return Some(Ty::Message("flow.Flow".into()));
    }
    for candidate in [format!("{CONTAINER}.{name}"), name.to_owned()] {
        if let Some((enumeration, value)) = candidate.rsplit_once('.')
            && SCHEMA
                .enums
                .get(&format!(".{enumeration}"))
                .is_some_and(|values| values.contains_key(value))
        {
            return Some(Ty::Int);
        }
        if SCHEMA.messages.contains_key(&format!(".{candidate}")) {
            return Some(Ty::Type(Box::new(Ty::Message(candidate))));
        }
    }
    let primitive = match name {
        "bool" => Ty::Bool,
        "int" => Ty::Int,
        "uint" => Ty::Uint,
        "double" => Ty::Double,
        "string" => Ty::String,
        "bytes" => Ty::Bytes,
        "null_type" => Ty::Null,
        "dyn" => Ty::Dyn,
        "list" => Ty::List(Box::new(Ty::Dyn)),
        "map" => Ty::Map(Box::new(Ty::Dyn), Box::new(Ty::Dyn)),
        "type" => Ty::Type(Box::new(Ty::Dyn)),
        "google.protobuf.Timestamp" => Ty::Timestamp,
        "google.protobuf.Duration" => Ty::Duration,
        _ => return None,
    };
    Some(Ty::Type(Box::new(primitive)))
}

/// A message name as a struct literal names it, resolved in the container.
fn resolve_type_name(name: &str) -> Option<String> {
    let name = name.strip_prefix('.').unwrap_or(name);
    [format!("{CONTAINER}.{name}"), name.to_owned()]
        .into_iter()
        .find(|candidate| SCHEMA.messages.contains_key(&format!(".{candidate}")))
}

/// The type of field `field` of message `message`, as cel-go maps proto
/// types: enums are ints, 32-bit integers are int and uint, wrappers are
/// wrapper types.
fn field_type(message: &str, field: &str) -> Option<Ty> {
    let descriptor = SCHEMA.messages.get(&format!(".{message}"))?;
    let field = descriptor.field.iter().find(|f| f.name() == field)?;
    let element = match field.r#type() {
        FieldType::Bool => Ty::Bool,
        FieldType::Int32
        | FieldType::Int64
        | FieldType::Sint32
        | FieldType::Sint64
        | FieldType::Sfixed32
        | FieldType::Sfixed64
        | FieldType::Enum => Ty::Int,
        FieldType::Uint32 | FieldType::Uint64 | FieldType::Fixed32 | FieldType::Fixed64 => Ty::Uint,
        FieldType::Double | FieldType::Float => Ty::Double,
        FieldType::String => Ty::String,
        FieldType::Bytes => Ty::Bytes,
        FieldType::Message | FieldType::Group => message_type(field.type_name()),
    };
    Some(if field.label() == Label::Repeated {
        Ty::List(Box::new(element))
    } else {
        element
    })
}

fn message_type(type_name: &str) -> Ty {
    let wrapped = |ty| Ty::Wrapper(Box::new(ty));
    match type_name {
        ".google.protobuf.Timestamp" => Ty::Timestamp,
        ".google.protobuf.Duration" => Ty::Duration,
        ".google.protobuf.BoolValue" => wrapped(Ty::Bool),
        ".google.protobuf.Int32Value" | ".google.protobuf.Int64Value" => wrapped(Ty::Int),
        ".google.protobuf.UInt32Value" | ".google.protobuf.UInt64Value" => wrapped(Ty::Uint),
        ".google.protobuf.FloatValue" | ".google.protobuf.DoubleValue" => wrapped(Ty::Double),
        ".google.protobuf.StringValue" => wrapped(Ty::String),
        ".google.protobuf.BytesValue" => wrapped(Ty::Bytes),
        ".google.protobuf.Any" | ".google.protobuf.Value" => Ty::Dyn,
        ".google.protobuf.Struct" => Ty::Map(Box::new(Ty::String), Box::new(Ty::Dyn)),
        ".google.protobuf.ListValue" => Ty::List(Box::new(Ty::Dyn)),
        other => Ty::Message(other.trim_start_matches('.').to_owned()),
    }
}

enum Overload {
    Result(Ty),
    /// No function of that name.
    Unknown,
    /// The function exists, not for these arguments.
    NoMatch,
}

/// The result of calling function `name` on `target` with `args`, after
/// cel-go's standard declarations.
fn overload(name: &str, target: Option<&Ty>, args: &[Ty]) -> Overload {
    use Ty::*;
    let result = |ty: Option<Ty>| ty.map_or(Overload::NoMatch, Overload::Result);
    // Whether the arguments fit one of the given signatures.
    let fits = |signatures: &[&[Ty]]| {
        signatures.iter().any(|signature| {
            signature.len() == args.len() && args.iter().zip(*signature).all(|(a, w)| a.fits(w))
        })
    };
    match (name, target) {
        ("!_" | "@not_strictly_false", None) => result(fits(&[&[Bool]]).then_some(Bool)),
        ("-_", None) => result(match args {
            [t] if t.is_dyn() => Some(Dyn),
            [t @ (Int | Double)] => Some(t.clone()),
            [Wrapper(inner)] if matches!(**inner, Int | Double) => Some((**inner).clone()),
            _ => None,
        }),
        ("_&&_" | "_||_", None) => result(fits(&[&[Bool, Bool]]).then_some(Bool)),
        ("_?_:_", None) => result(match args {
            [condition, a, b] if condition.fits(&Bool) => a.join(b),
            _ => None,
        }),
        ("_==_" | "_!=_", None) => result(match args {
            [a, b] => a.join(b).map(|_| Bool),
            _ => None,
        }),
        ("_<_" | "_<=_" | "_>_" | "_>=_", None) => {
            let ordered: &[&[Ty]] = &[
                &[Int, Int],
                &[Uint, Uint],
                &[Double, Double],
                &[String, String],
                &[Bytes, Bytes],
                &[Bool, Bool],
                &[Timestamp, Timestamp],
                &[Duration, Duration],
            ];
            result(fits(ordered).then_some(Bool))
        }
        ("_+_", None) => result(match args {
            [List(a), List(b)] => a.join(b).map(|t| List(Box::new(t))),
            [Timestamp, Duration] | [Duration, Timestamp] => Some(Timestamp),
            [a, b] => arithmetic(a, b, &[Int, Uint, Double, String, Bytes, Duration]),
            _ => None,
        }),
        ("_-_", None) => result(match args {
            [Timestamp, Timestamp] => Some(Duration),
            [Timestamp, Duration] => Some(Timestamp),
            [a, b] => arithmetic(a, b, &[Int, Uint, Double, Duration]),
            _ => None,
        }),
        ("_*_" | "_/_", None) => result(match args {
            [a, b] => arithmetic(a, b, &[Int, Uint, Double]),
            _ => None,
        }),
        ("_%_", None) => result(match args {
            [a, b] => arithmetic(a, b, &[Int, Uint]),
            _ => None,
        }),
        ("_[_]", None) => result(match args {
            [List(element), index] if index.fits(&Int) => Some((**element).clone()),
            [Map(key, value), index] if index.join(key).is_some() => Some((**value).clone()),
            [t, _] if t.is_dyn() => Some(Dyn),
            _ => None,
        }),
        ("@in", None) => result(match args {
            [item, List(element)] => item.join(element).map(|_| Bool),
            [item, Map(key, _)] => item.join(key).map(|_| Bool),
            [_, t] if t.is_dyn() => Some(Bool),
            _ => None,
        }),
        ("size", None) => result(match args {
            [t] if sized(t) => Some(Int),
            _ => None,
        }),
        ("size", Some(t)) => result((args.is_empty() && sized(t)).then_some(Int)),
        ("contains" | "startsWith" | "endsWith" | "matches", Some(t)) => {
            result((t.fits(&String) && fits(&[&[String]])).then_some(Bool))
        }
        ("matches", None) => result(fits(&[&[String, String]]).then_some(Bool)),
        ("int", None) => {
            result(fits(&[&[Int], &[Uint], &[Double], &[String], &[Timestamp]]).then_some(Int))
        }
        ("uint", None) => result(fits(&[&[Int], &[Uint], &[Double], &[String]]).then_some(Uint)),
        ("double", None) => {
            result(fits(&[&[Int], &[Uint], &[Double], &[String]]).then_some(Double))
        }
        ("string", None) => result(
            fits(&[
                &[Int],
                &[Uint],
                &[Double],
                &[String],
                &[Bytes],
                &[Bool],
                &[Timestamp],
                &[Duration],
            ])
            .then_some(String),
        ),
        ("bytes", None) => result(fits(&[&[String], &[Bytes]]).then_some(Bytes)),
        ("bool", None) => result(fits(&[&[Bool], &[String]]).then_some(Bool)),
        ("dyn", None) => result((args.len() == 1).then_some(Dyn)),
        ("type", None) => result(match args {
            [t] => Some(Type(Box::new(t.clone()))),
            _ => None,
        }),
        ("timestamp", None) => {
            result(fits(&[&[String], &[Int], &[Timestamp]]).then_some(Timestamp))
        }
        ("duration", None) => result(fits(&[&[String], &[Duration]]).then_some(Duration)),
        (
            "getFullYear" | "getMonth" | "getDayOfYear" | "getDayOfMonth" | "getDate"
            | "getDayOfWeek",
            Some(t),
        ) => result((t.fits(&Timestamp) && fits(&[&[], &[String]])).then_some(Int)),
        ("getHours" | "getMinutes" | "getSeconds" | "getMilliseconds", Some(t)) => {
            let timestamp = t.fits(&Timestamp) && fits(&[&[], &[String]]);
            let duration = t.fits(&Duration) && args.is_empty();
            result((timestamp || duration).then_some(Int))
        }
        // Declared, but only as a member or only as a global function.
        _ if DECLARED.contains(&name) => Overload::NoMatch,
        _ => Overload::Unknown,
    }
}

/// Every function `overload` knows, by name.
const DECLARED: &[&str] = &[
    "size",
    "contains",
    "startsWith",
    "endsWith",
    "matches",
    "int",
    "uint",
    "double",
    "string",
    "bytes",
    "bool",
    "dyn",
    "type",
    "timestamp",
    "duration",
    "getFullYear",
    "getMonth",
    "getDayOfYear",
    "getDayOfMonth",
    "getDate",
    "getDayOfWeek",
    "getHours",
    "getMinutes",
    "getSeconds",
    "getMilliseconds",
];

/// `a OP b` for operators defined on pairs of the same type among `types`.
fn arithmetic(a: &Ty, b: &Ty, types: &[Ty]) -> Option<Ty> {
    let unwrap = |t: &Ty| match t {
        Ty::Wrapper(inner) => (**inner).clone(),
        other => other.clone(),
    };
    let (a, b) = (unwrap(a), unwrap(b));
    match (a.is_dyn(), b.is_dyn()) {
        (true, true) => Some(Ty::Dyn),
        (true, false) => types.contains(&b).then_some(b),
        (false, true) => types.contains(&a).then_some(a),
        (false, false) => (a == b && types.contains(&a)).then_some(a),
    }
}

fn sized(t: &Ty) -> bool {
    t.is_dyn() || matches!(t, Ty::String | Ty::Bytes | Ty::List(_) | Ty::Map(..))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked(text: &str) -> Result<(), String> {
        let program = cel::Program::compile(text).expect("parses");
        check(program.expression(), program.source_info(), text)
    }

    #[test]
    fn boolean_expressions_on_the_flow_pass() {
        for text in [
            "_flow.verdict == Verdict.DROPPED",
            "flow.Verdict.DROPPED == _flow.verdict",
            "has(_flow.l7)",
            "_flow.is_reply == true",
            "_flow.is_reply == null",
            "_flow.source.labels == ['a']",
            "_flow.source.labels.exists(l, l == 'x')",
            "_flow.source.labels.all(l, l.startsWith('k8s:'))",
            "_flow.source.labels.exists_one(l, l.contains('x'))",
            "size(_flow.source.labels.filter(l, l.endsWith('x'))) > 0",
            "_flow.source.labels.map(l, size(l)).exists(n, n > 3)",
            "_flow.time > timestamp('2020-01-01T00:00:00Z')",
            "_flow.l4.TCP.destination_port == 8080u || _flow.source.identity > 4u",
            "'kube-system' in [_flow.source.namespace, _flow.destination.namespace]",
            "_flow.source.namespace.matches('^cilium') && !_flow.is_reply",
            "dyn(_flow.verdict) == 'x'",
            "[].exists(x, x == 1)",
            "true",
        ] {
            assert_eq!(checked(text), Ok(()), "{text}");
        }
    }

    #[test]
    fn results_other_than_bool_are_refused() {
        for (text, got) in [
            ("_flow", "flow.Flow"),
            ("_flow.is_reply", "wrapper(bool)"),
            ("_flow.time", "google.protobuf.Timestamp"),
            ("_flow.time - _flow.time", "google.protobuf.Duration"),
            ("_flow.source.labels", "list(string)"),
            ("_flow.source.labels.map(l, l)", "list(string)"),
            ("_flow.source.identity", "uint"),
            ("Verdict.DROPPED", "int"),
            ("{'a': 1}", "map(string, int)"),
            ("null", "null_type"),
            ("int", "type(int)"),
            ("type(1)", "type(int)"),
            ("dyn(1)", "dyn"),
            ("dyn(true)", "dyn"),
        ] {
            assert_eq!(
                checked(text),
                Err(format!("got \"{got}\", wanted \"bool\" result type")),
                "{text}"
            );
        }
    }
}
