//! JSON as Hubble's Go encoders write it for the records other than flows:
//! protojson's field names and number formats, `encoding/json`'s HTML-safe
//! escapes, compact (`json.Encoder`) or indented by two spaces
//! (`json.MarshalIndent`).

use std::{
    fmt::{self, Display},
    io::{self, Write},
};

use serde::{Serialize, ser};

/// `value` on one line, then a newline.
pub fn write_line(out: &mut impl Write, value: &impl Serialize) -> io::Result<()> {
    let mut bytes = Vec::with_capacity(256);
    extend_compact(&mut bytes, value)?;
    bytes.push(b'\n');
    out.write_all(&bytes)
}

/// `value` compact, as `json.Encoder` writes it, without the newline, onto
/// the end of `out`.
pub fn extend_compact(out: &mut Vec<u8>, value: &impl Serialize) -> io::Result<()> {
    value
        .serialize(&mut GoSerializer {
            out,
            indent: false,
            level: 0,
        })
        .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error.0))
}

/// `value` indented by two spaces per level, then a newline.
pub fn write_indented(out: &mut impl Write, value: &impl Serialize) -> io::Result<()> {
    let mut bytes = Vec::with_capacity(1024);
    value
        .serialize(&mut GoSerializer {
            out: &mut bytes,
            indent: true,
            level: 0,
        })
        .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error.0))?;
    bytes.push(b'\n');
    out.write_all(&bytes)
}

/// A value that Go's encoders have no JSON for.
#[derive(Debug)]
pub struct Error(String);

impl Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: Display>(message: T) -> Self {
        Error(message.to_string())
    }
}

/// Serialises as Go writes JSON. serde_json's own serializer escapes
/// strings a byte at a time through a formatter callback, which was a
/// quarter of the cost of `-o jsonpb`; this one escapes in one pass, for
/// both JSON's escapes and Go's HTML-safe ones.
struct GoSerializer<'a> {
    out: &'a mut Vec<u8>,
    indent: bool,
    level: usize,
}

impl GoSerializer<'_> {
    fn open(&mut self, bracket: u8) {
        self.level += 1;
        self.out.push(bracket);
    }

    fn close(&mut self, bracket: u8, empty: bool) {
        self.level -= 1;
        if self.indent && !empty {
            self.newline();
        }
        self.out.push(bracket);
    }

    fn element(&mut self, first: bool) {
        if !first {
            self.out.push(b',');
        }
        if self.indent {
            self.newline();
        }
    }

    fn newline(&mut self) {
        self.out.push(b'\n');
        for _ in 0..self.level {
            self.out.extend_from_slice(b"  ");
        }
    }

    fn colon(&mut self) {
        self.out
            .extend_from_slice(if self.indent { b": " } else { b":" });
    }
}

/// Whether any of eight bytes needs attention in a JSON string (a word at a
/// time: strings are mostly plain, and a byte-wise scan was a fifth of the
/// cost of `-o jsonpb`). Exact, by the classic "has a byte less than n" and
/// "has a zero byte" tests. With `ASCII_ONLY`, any byte above 0x7f needs attention too; otherwise
/// only the first byte of U+2028 and U+2029.
fn needs_attention<const ASCII_ONLY: bool>(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has = |byte: u8| {
        let matched = word ^ (ONES * u64::from(byte));
        matched.wrapping_sub(ONES) & !matched & HIGH
    };
    let has_either = |mask: u8, byte: u8| {
        // With `mask` set, the two bytes that differ only in it look alike.
        let matched = (word | (ONES * u64::from(mask))) ^ (ONES * u64::from(byte));
        matched.wrapping_sub(ONES) & !matched & HIGH
    };
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    // `"` and `&` are 0x22 and 0x26, `<` and `>` 0x3c and 0x3e.
    let html_or_quote = has_either(0x04, b'&') | has_either(0x02, b'>');
    let special = control | html_or_quote | has(b'\\');
    match ASCII_ONLY {
        true => special | (word & HIGH) != 0,
        false => special | has(0xe2) != 0,
    }
}

/// Whether `bytes` are ASCII with nothing to escape, as most strings of a
/// flow are: they are written as they are, with no byte-wise pass (for
/// the strings of a short flow, that pass and the UTF-8 check of the bytes
/// received were a quarter of the cost of writing it).
fn is_plain(bytes: &[u8]) -> bool {
    let word = |chunk: &[u8]| u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
    if bytes.len() >= 8 {
        let mut chunks = bytes.chunks_exact(8);
        // The last eight bytes, overlapping the chunks, stand for the rest.
        return chunks.all(|chunk| !needs_attention::<true>(word(chunk)))
            && !needs_attention::<true>(word(&bytes[bytes.len() - 8..]));
    }
    // Padded with spaces, which need nothing.
    let mut padded = [b' '; 8];
    for (to, &from) in padded.iter_mut().zip(bytes) {
        *to = from;
    }
    !needs_attention::<true>(u64::from_le_bytes(padded))
}

/// The bytes of a protobuf string as a JSON string (see `write_string`),
/// or an error where they are not UTF-8, as prost would refuse them.
pub(super) fn write_utf8(out: &mut Vec<u8>, bytes: &[u8]) -> Result<(), std::str::Utf8Error> {
    if is_plain(bytes) {
        write_quoted(out, bytes);
        return Ok(());
    }
    write_escaped(out, std::str::from_utf8(bytes)?);
    Ok(())
}

fn write_quoted(out: &mut Vec<u8>, bytes: &[u8]) {
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    out.extend_from_slice(bytes);
    out.push(b'"');
}

/// `text` as a JSON string: serde_json's escapes (short forms for the
/// usual control characters, `\u00xx` for the rest) plus Go's escapes of
/// `<`, `>`, `&`, U+2028 and U+2029.
pub(super) fn write_string(out: &mut Vec<u8>, text: &str) {
    match is_plain(text.as_bytes()) {
        true => write_quoted(out, text.as_bytes()),
        false => write_escaped(out, text),
    }
}

fn write_escaped(out: &mut Vec<u8>, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = text.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0;
    let mut index = 0;
    let mut unicode = *b"\\u00xx";
    loop {
        while let Some(chunk) = bytes.get(index..index + 8) {
            let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
            if needs_attention::<false>(word) {
                break;
            }
            index += 8;
        }
        let Some(&byte) = bytes.get(index) else {
            break;
        };
        if !matches!(byte, 0x00..0x20 | b'"' | b'\\' | b'<' | b'>' | b'&' | 0xe2) {
            index += 1;
            continue;
        }
        let escape: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'<' => b"\\u003c",
            b'>' => b"\\u003e",
            b'&' => b"\\u0026",
            0x08 => b"\\b",
            0x0c => b"\\f",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x00..0x20 => {
                unicode[4] = HEX[usize::from(byte >> 4)];
                unicode[5] = HEX[usize::from(byte & 0xf)];
                &unicode
            }
            // U+2028 and U+2029 are E2 80 A8 and E2 80 A9 in UTF-8.
            0xe2 if bytes[index..].starts_with(b"\xe2\x80\xa8") => b"\\u2028",
            0xe2 if bytes[index..].starts_with(b"\xe2\x80\xa9") => b"\\u2029",
            _ => {
                index += 1;
                continue;
            }
        };
        out.extend_from_slice(&bytes[start..index]);
        out.extend_from_slice(escape);
        index += if byte == 0xe2 { 3 } else { 1 };
        start = index;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// An array or object being written.
struct Compound<'s, 'a> {
    serializer: &'s mut GoSerializer<'a>,
    first: bool,
    /// Objects written for enum variants close a second brace.
    variant: bool,
}

impl<'s, 'a> Compound<'s, 'a> {
    fn new(serializer: &'s mut GoSerializer<'a>, bracket: u8) -> Self {
        serializer.open(bracket);
        Self {
            serializer,
            first: true,
            variant: false,
        }
    }

    fn element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        self.serializer.element(self.first);
        self.first = false;
        value.serialize(&mut *self.serializer)
    }

    fn field<T: ?Sized + Serialize>(&mut self, key: &str, value: &T) -> Result<(), Error> {
        self.serializer.element(self.first);
        self.first = false;
        // Field names are proto identifiers: nothing in them needs escaping.
        let out = &mut *self.serializer.out;
        out.push(b'"');
        out.extend_from_slice(key.as_bytes());
        out.push(b'"');
        self.serializer.colon();
        value.serialize(&mut *self.serializer)
    }

    fn finish(self, bracket: u8) -> Result<(), Error> {
        self.serializer.close(bracket, self.first);
        if self.variant {
            self.serializer.close(b'}', false);
        }
        Ok(())
    }
}

impl<'s, 'a> ser::Serializer for &'s mut GoSerializer<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'s, 'a>;
    type SerializeTuple = Compound<'s, 'a>;
    type SerializeTupleStruct = Compound<'s, 'a>;
    type SerializeTupleVariant = Compound<'s, 'a>;
    type SerializeMap = Compound<'s, 'a>;
    type SerializeStruct = Compound<'s, 'a>;
    type SerializeStructVariant = Compound<'s, 'a>;

    fn serialize_bool(self, value: bool) -> Result<(), Error> {
        self.out
            .extend_from_slice(if value { b"true" } else { b"false" });
        Ok(())
    }

    fn serialize_i8(self, value: i8) -> Result<(), Error> {
        self.serialize_i64(i64::from(value))
    }

    fn serialize_i16(self, value: i16) -> Result<(), Error> {
        self.serialize_i64(i64::from(value))
    }

    fn serialize_i32(self, value: i32) -> Result<(), Error> {
        self.serialize_i64(i64::from(value))
    }

    fn serialize_i64(self, value: i64) -> Result<(), Error> {
        self.out
            .extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
        Ok(())
    }

    fn serialize_u8(self, value: u8) -> Result<(), Error> {
        self.serialize_u64(u64::from(value))
    }

    fn serialize_u16(self, value: u16) -> Result<(), Error> {
        self.serialize_u64(u64::from(value))
    }

    fn serialize_u32(self, value: u32) -> Result<(), Error> {
        self.serialize_u64(u64::from(value))
    }

    fn serialize_u64(self, value: u64) -> Result<(), Error> {
        self.out
            .extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
        Ok(())
    }

    fn serialize_f32(self, value: f32) -> Result<(), Error> {
        self.serialize_f64(f64::from(value))
    }

    fn serialize_f64(self, value: f64) -> Result<(), Error> {
        self.out.extend_from_slice(go_float(value).as_bytes());
        Ok(())
    }

    fn serialize_char(self, value: char) -> Result<(), Error> {
        self.serialize_str(value.encode_utf8(&mut [0; 4]))
    }

    fn serialize_str(self, value: &str) -> Result<(), Error> {
        write_string(self.out, value);
        Ok(())
    }

    fn serialize_bytes(self, value: &[u8]) -> Result<(), Error> {
        use ser::SerializeSeq;
        let mut seq = self.serialize_seq(Some(value.len()))?;
        for byte in value {
            seq.serialize_element(byte)?;
        }
        seq.end()
    }

    fn serialize_none(self) -> Result<(), Error> {
        self.serialize_unit()
    }

    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Error> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        let mut object = Compound::new(self, b'{');
        object.field(variant, value)?;
        object.finish(b'}')
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'s, 'a>, Error> {
        Ok(Compound::new(self, b'['))
    }

    fn serialize_tuple(self, len: usize) -> Result<Compound<'s, 'a>, Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Compound<'s, 'a>, Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'s, 'a>, Error> {
        self.open(b'{');
        self.element(true);
        write_string(self.out, variant);
        self.colon();
        let mut array = Compound::new(self, b'[');
        array.variant = true;
        Ok(array)
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'s, 'a>, Error> {
        Ok(Compound::new(self, b'{'))
    }

    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Compound<'s, 'a>, Error> {
        Ok(Compound::new(self, b'{'))
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'s, 'a>, Error> {
        self.open(b'{');
        self.element(true);
        write_string(self.out, variant);
        self.colon();
        let mut object = Compound::new(self, b'{');
        object.variant = true;
        Ok(object)
    }
}

/// Sequences of every kind are arrays.
macro_rules! array_serializers {
    ($($trait:ident::$method:ident),*) => {$(
        impl ser::$trait for Compound<'_, '_> {
            type Ok = ();
            type Error = Error;

            fn $method<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
                self.element(value)
            }

            fn end(self) -> Result<(), Error> {
                Compound::finish(self, b']')
            }
        }
    )*};
}

array_serializers!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;

    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), Error> {
        // Go writes map keys as strings; every map of this API has string
        // keys, and anything else is refused rather than written as a bare
        // value.
        self.serializer.element(self.first);
        self.first = false;
        key.serialize(KeySerializer(&mut *self.serializer))
    }

    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        self.serializer.colon();
        value.serialize(&mut *self.serializer)
    }

    fn end(self) -> Result<(), Error> {
        Compound::finish(self, b'}')
    }
}

impl ser::SerializeStruct for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.field(key, value)
    }

    fn end(self) -> Result<(), Error> {
        Compound::finish(self, b'}')
    }
}

impl ser::SerializeStructVariant for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.field(key, value)
    }

    fn end(self) -> Result<(), Error> {
        Compound::finish(self, b'}')
    }
}

/// Map keys: strings only.
struct KeySerializer<'s, 'a>(&'s mut GoSerializer<'a>);

fn key_must_be_a_string() -> Error {
    Error("map keys must be strings".to_owned())
}

/// Serializer methods that refuse: the value cannot be a map key.
macro_rules! not_a_key {
    ($($method:ident($($argument:ty),*)),*) => {$(
        fn $method(self, $(_: $argument),*) -> Result<(), Error> {
            Err(key_must_be_a_string())
        }
    )*};
}

impl ser::Serializer for KeySerializer<'_, '_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = ser::Impossible<(), Error>;
    type SerializeTuple = ser::Impossible<(), Error>;
    type SerializeTupleStruct = ser::Impossible<(), Error>;
    type SerializeTupleVariant = ser::Impossible<(), Error>;
    type SerializeMap = ser::Impossible<(), Error>;
    type SerializeStruct = ser::Impossible<(), Error>;
    type SerializeStructVariant = ser::Impossible<(), Error>;

    not_a_key!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_bytes(&[u8]),
        serialize_none(),
        serialize_unit(),
        serialize_unit_struct(&'static str)
    );

    fn serialize_str(self, value: &str) -> Result<(), Error> {
        write_string(self.0.out, value);
        Ok(())
    }

    fn serialize_char(self, value: char) -> Result<(), Error> {
        self.serialize_str(value.encode_utf8(&mut [0; 4]))
    }

    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(key_must_be_a_string())
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

    fn go_string(text: &str) -> String {
        let mut out = Vec::new();
        write_string(&mut out, text);
        String::from_utf8(out).unwrap()
    }

    /// serde_json's escaping, then Go's HTML-safe escapes (those characters
    /// only occur inside strings in JSON).
    fn expected(text: &str) -> String {
        serde_json::to_string(text)
            .unwrap()
            .replace('<', "\\u003c")
            .replace('>', "\\u003e")
            .replace('&', "\\u0026")
            .replace('\u{2028}', "\\u2028")
            .replace('\u{2029}', "\\u2029")
    }

    #[test]
    fn strings_escape_as_serde_json_plus_go_html_escapes() {
        let mut texts: Vec<String> = (0..=0x7f_u8).map(|b| char::from(b).to_string()).collect();
        texts.extend(
            [
                "",
                "plain",
                "k8s:io.kubernetes.pod.namespace=cilium-test",
                "a<b>&c",
                "\u{2028}\u{2029}\u{2027}\u{202a}",
                "é\"quoted\"\\",
                "tab\there\n",
                "\u{e2}\u{80}",
                "€uro",
                "12345678<",
                "1234567\u{2028}x",
            ]
            .map(str::to_owned),
        );
        // Every special character at every offset of an eight-byte word.
        for special in [
            "\"", "\\", "<", ">", "&", "\u{1}", "\u{1f}", "\u{2028}", "é",
        ] {
            for offset in 0..17 {
                texts.push(format!("{}{special}{}", "x".repeat(offset), "y".repeat(9)));
                // Last, in the padded or the overlapping last word.
                texts.push(format!("{}{special}", "x".repeat(offset)));
            }
        }
        let mut state: u32 = 0x9e37_79b9;
        for _ in 0..2000 {
            let text: String = (0..(state % 40))
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    [
                        'a', '"', '\\', '<', '&', '\u{7}', '\n', 'é', '\u{2028}', '\u{2029}', '€',
                        ' ',
                    ][state as usize % 12]
                })
                .collect();
            texts.push(text);
            state = state.wrapping_add(1);
        }
        for text in &texts {
            assert_eq!(go_string(text), expected(text), "{text:?}");
            let mut from_bytes = Vec::new();
            write_utf8(&mut from_bytes, text.as_bytes()).unwrap();
            assert_eq!(
                String::from_utf8(from_bytes).unwrap(),
                expected(text),
                "{text:?}"
            );
        }
    }

    #[test]
    fn bytes_that_are_not_utf8_are_refused() {
        for bytes in [
            &b"\xff"[..],
            b"abc\xc3",
            b"12345678\xe2\x80",
            b"\xed\xa0\x80",
        ] {
            assert!(write_utf8(&mut Vec::new(), bytes).is_err(), "{bytes:?}");
        }
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
