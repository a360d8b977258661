//! JSON as Hubble's Go encoders write it for the records other than flows:
//! protojson's field names and number formats, `encoding/json`'s HTML-safe
//! escapes, compact (`json.Encoder`) or indented by two spaces
//! (`json.MarshalIndent`).

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::{Formatter, Serializer};

/// `value` on one line, then a newline.
pub fn write_line(out: &mut impl Write, value: &impl Serialize) -> io::Result<()> {
    let mut bytes = Vec::with_capacity(256);
    write_compact(&mut bytes, value)?;
    bytes.push(b'\n');
    out.write_all(&bytes)
}

/// `value` compact, as `json.Encoder` writes it, without the newline.
pub fn write_compact(out: &mut impl Write, value: &impl Serialize) -> io::Result<()> {
    value
        .serialize(&mut Serializer::with_formatter(out, GoFormatter::compact()))
        .map_err(io::Error::from)
}

/// `value` indented by two spaces per level, then a newline.
pub fn write_indented(out: &mut impl Write, value: &impl Serialize) -> io::Result<()> {
    let mut bytes = Vec::with_capacity(1024);
    value
        .serialize(&mut Serializer::with_formatter(
            &mut bytes,
            GoFormatter::indented(),
        ))
        .map_err(io::Error::from)?;
    bytes.push(b'\n');
    out.write_all(&bytes)
}

struct GoFormatter {
    indent: bool,
    level: usize,
    has_value: bool,
}

impl GoFormatter {
    fn compact() -> Self {
        Self {
            indent: false,
            level: 0,
            has_value: false,
        }
    }

    fn indented() -> Self {
        Self {
            indent: true,
            ..Self::compact()
        }
    }

    fn newline<W: ?Sized + Write>(&self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b"\n")?;
        for _ in 0..self.level {
            writer.write_all(b"  ")?;
        }
        Ok(())
    }

    fn open<W: ?Sized + Write>(&mut self, writer: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.level += 1;
        self.has_value = false;
        writer.write_all(bracket)
    }

    fn close<W: ?Sized + Write>(&mut self, writer: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.level -= 1;
        if self.indent && self.has_value {
            self.newline(writer)?;
        }
        writer.write_all(bracket)
    }

    fn element<W: ?Sized + Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        if !first {
            writer.write_all(b",")?;
        }
        if self.indent {
            self.newline(writer)?;
        }
        Ok(())
    }
}

impl Formatter for GoFormatter {
    fn begin_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.open(writer, b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.close(writer, b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.element(writer, first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.open(writer, b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.close(writer, b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.element(writer, first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(if self.indent { b": " } else { b":" })
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn write_f64<W: ?Sized + Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        writer.write_all(go_float(value).as_bytes())
    }

    fn write_f32<W: ?Sized + Write>(&mut self, writer: &mut W, value: f32) -> io::Result<()> {
        writer.write_all(go_float(f64::from(value)).as_bytes())
    }

    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let bytes = fragment.as_bytes();
        // Nearly every string needs none of these escapes; this test has no
        // early exit, so it compiles to a vectorised pass.
        let needs_escape = bytes.iter().fold(false, |found, &byte| {
            found | matches!(byte, b'<' | b'>' | b'&' | 0xe2)
        });
        if !needs_escape {
            return writer.write_all(bytes);
        }
        let mut start = 0;
        for (index, &byte) in bytes.iter().enumerate() {
            let escape: &[u8] = match byte {
                b'<' => b"\\u003c",
                b'>' => b"\\u003e",
                b'&' => b"\\u0026",
                // U+2028 and U+2029 are E2 80 A8 and E2 80 A9 in UTF-8.
                0xe2 if bytes[index..].starts_with(b"\xe2\x80\xa8") => b"\\u2028",
                0xe2 if bytes[index..].starts_with(b"\xe2\x80\xa9") => b"\\u2029",
                _ => continue,
            };
            writer.write_all(&bytes[start..index])?;
            writer.write_all(escape)?;
            start = index + if byte == 0xe2 { 3 } else { 1 };
        }
        writer.write_all(&bytes[start..])
    }
}

/// A double as protojson writes it: the shortest digits that read back,
/// in exponent form (`1e+21`, `1e-7`) only for very large or small values.
fn go_float(value: f64) -> String {
    if value.is_nan() {
        return "\"NaN\"".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 {
            "\"Infinity\""
        } else {
            "\"-Infinity\""
        }
        .to_owned();
    }
    let magnitude = value.abs();
    if magnitude != 0.0 && !(1e-6..1e21).contains(&magnitude) {
        let text = format!("{value:e}");
        return match text.split_once('e') {
            Some((mantissa, exponent)) if !exponent.starts_with('-') => {
                format!("{mantissa}e+{exponent}")
            }
            _ => text,
        };
    }
    format!("{value}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn indented(value: &serde_json::Value) -> String {
        let mut out = Vec::new();
        write_indented(&mut out, value).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn indentation_is_marshal_indent() {
        let value = serde_json::json!([{"a": 1, "b": {"c": [], "d": {}}, "e": ["x<"]}]);
        assert_eq!(
            indented(&value),
            "[\n  {\n    \"a\": 1,\n    \"b\": {\n      \"c\": [],\n      \"d\": {}\n    },\n    \"e\": [\n      \"x\\u003c\"\n    ]\n  }\n]\n"
        );
    }

    #[test]
    fn floats_as_protojson() {
        assert_eq!(go_float(22.86), "22.86");
        assert_eq!(go_float(100.0), "100");
        assert_eq!(go_float(1e21), "1e+21");
        assert_eq!(go_float(1.5e-7), "1.5e-7");
        assert_eq!(go_float(0.0), "0");
    }
}
