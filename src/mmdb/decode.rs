//! The data section decoder: MMDB values, borrowed from the file's bytes.
//!
//! One decode operation (one record, or the metadata map) runs under a
//! [`Limits`] budget, charged the way the MaxMind DB spec's "Reader Resource
//! Limits" section describes:
//!
//! - **depth**: entering a map or an array, or following a pointer, goes one
//!   level deeper; going deeper than [`Limits::max_depth`] is refused;
//! - **values**: every logical value occurrence counts once (the root; each
//!   map key and each map value; each array element), reserved when its
//!   container is entered, *before* anything is allocated for it; a value
//!   reached through a pointer is counted at the pointer's position, so
//!   re-decoding a shared target is charged every time;
//! - **payload**: the bytes of every string (map keys included) and bytes
//!   value, charged at every occurrence.
//!
//! Those charges bound the time and memory of one decode however the file
//! shares data through pointers: the "pointer fan-out" and "payload
//! amplification" files of the MaxMind test suite are refused after at most
//! [`Limits::max_values`] steps.

use super::error::{Limit, MmdbError, Section};

/// Resource limits of one decode operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Deepest nesting of maps, arrays and pointers.
    pub max_depth: u32,
    /// Most logical values (see the module documentation).
    pub max_values: u32,
    /// Most bytes of string and bytes payload.
    pub max_payload: usize,
}

impl Limits {
    /// The limits of a data record: the spec's recommended depth (512) and
    /// value count (65,536), and 2 MiB of payload, the boundary the MaxMind
    /// test files assume. The largest real records decode a few hundred
    /// values and about a kilobyte of strings.
    ///
    /// The decoder recurses once per level: the deepest record takes about
    /// 250 KiB of stack in a release build and 1.5 MiB in a debug build, so
    /// decode on a thread with Rust's default 2 MiB stack or more.
    pub const RECORD: Limits = Limits {
        max_depth: 512,
        max_values: 1 << 16,
        max_payload: 2 << 20,
    };

    /// The limits of the metadata map. Real metadata is a flat map with a
    /// few dozen strings; the section itself is at most 128 KiB.
    pub const METADATA: Limits = Limits {
        max_depth: 32,
        max_values: 1 << 14,
        max_payload: 1 << 20,
    };
}

/// A decoded MMDB value. Strings and bytes borrow from the database.
#[derive(Clone, Debug, PartialEq)]
pub enum Value<'a> {
    /// A map, in file order (duplicate keys are kept).
    Map(Vec<(&'a str, Value<'a>)>),
    /// An array.
    Array(Vec<Value<'a>>),
    /// A UTF-8 string.
    Str(&'a str),
    /// A byte string.
    Bytes(&'a [u8]),
    /// A double.
    F64(f64),
    /// A float.
    F32(f32),
    /// An unsigned 16-bit integer.
    U16(u16),
    /// An unsigned 32-bit integer.
    U32(u32),
    /// A signed 32-bit integer.
    I32(i32),
    /// An unsigned 64-bit integer.
    U64(u64),
    /// An unsigned 128-bit integer.
    U128(u128),
    /// A boolean.
    Bool(bool),
}

impl<'a> Value<'a> {
    /// The value of `key` if this is a map holding it (the first one, if the
    /// map repeats the key).
    pub fn get(&self, key: &str) -> Option<&Value<'a>> {
        match self {
            Value::Map(entries) => entries.iter().find(|(k, _)| *k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Follows `keys` from this value: a key selects a map entry, and on an
    /// array a decimal key selects an element (`["subdivisions", "0",
    /// "names", "en"]`).
    pub fn path(&self, keys: &[&str]) -> Option<&Value<'a>> {
        let mut v = self;
        for key in keys {
            v = match v {
                Value::Map(_) => v.get(key)?,
                Value::Array(items) => items.get(key.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(v)
    }

    /// The string, if this is a string.
    pub fn as_str(&self) -> Option<&'a str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The number, if this is an integer that fits `u64` (a negative `I32`
    /// does not).
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::U16(v) => Some(u64::from(v)),
            Value::U32(v) => Some(u64::from(v)),
            Value::U64(v) => Some(v),
            Value::U128(v) => u64::try_from(v).ok(),
            Value::I32(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    /// The number, if this is a double or a float.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::F64(v) => Some(v),
            Value::F32(v) => Some(f64::from(v)),
            _ => None,
        }
    }

    /// The entries, if this is a map.
    pub fn as_map(&self) -> Option<&[(&'a str, Value<'a>)]> {
        match self {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The elements, if this is an array.
    pub fn as_array(&self) -> Option<&[Value<'a>]> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The name of the value's type, as the spec calls it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Map(_) => "a map",
            Value::Array(_) => "an array",
            Value::Str(_) => "a string",
            Value::Bytes(_) => "bytes",
            Value::F64(_) => "a double",
            Value::F32(_) => "a float",
            Value::U16(_) => "a uint16",
            Value::U32(_) => "a uint32",
            Value::I32(_) => "an int32",
            Value::U64(_) => "a uint64",
            Value::U128(_) => "a uint128",
            Value::Bool(_) => "a boolean",
        }
    }
}

const T_POINTER: u8 = 1;
const T_STRING: u8 = 2;
const T_DOUBLE: u8 = 3;
const T_BYTES: u8 = 4;
const T_U16: u8 = 5;
const T_U32: u8 = 6;
const T_MAP: u8 = 7;
const T_I32: u8 = 8;
const T_U64: u8 = 9;
const T_U128: u8 = 10;
const T_ARRAY: u8 = 11;
const T_CACHE: u8 = 12;
const T_END: u8 = 13;
const T_BOOL: u8 = 14;
const T_FLOAT: u8 = 15;

/// The spec's name of type number `ty`, with an article.
pub(crate) fn type_label(ty: u8) -> &'static str {
    match ty {
        T_POINTER => "a pointer",
        T_STRING => "a string",
        T_DOUBLE => "a double",
        T_BYTES => "bytes",
        T_U16 => "a uint16",
        T_U32 => "a uint32",
        T_MAP => "a map",
        T_I32 => "an int32",
        T_U64 => "a uint64",
        T_U128 => "a uint128",
        T_ARRAY => "an array",
        T_CACHE => "a data cache container",
        T_END => "an end marker",
        T_BOOL => "a boolean",
        T_FLOAT => "a float",
        _ => "an unknown type",
    }
}

/// A decoded control byte.
struct Ctrl {
    /// The type number (1 to 15 for known types, larger for unknown ones).
    ty: u16,
    /// The size, or for a pointer the target offset.
    size: usize,
    /// Offset of the payload (the byte after the control and size bytes).
    payload: usize,
}

/// One decode operation over one section, with its budget.
pub(crate) struct Decoder<'a> {
    buf: &'a [u8],
    section: Section,
    limits: Limits,
    values: u64,
    payload: usize,
}

impl<'a> Decoder<'a> {
    /// A decoder over `buf` (the whole data section, or the metadata
    /// section), with a fresh budget.
    pub(crate) fn new(buf: &'a [u8], section: Section, limits: Limits) -> Decoder<'a> {
        Decoder {
            buf,
            section,
            limits,
            values: 0,
            payload: 0,
        }
    }

    /// Decodes the value at `offset` and everything it contains.
    pub(crate) fn decode_root(&mut self, offset: usize) -> Result<Value<'a>, MmdbError> {
        self.charge_values(1, offset)?;
        let (v, _) = self.decode(offset, 0)?;
        Ok(v)
    }

    /// The work done so far: logical values plus string and bytes payload.
    pub(crate) fn work(&self) -> u64 {
        self.values.saturating_add(self.payload as u64)
    }

    /// The type number of the value at `pos` (its control byte only).
    pub(crate) fn type_at(&self, pos: usize) -> Result<u16, MmdbError> {
        Ok(self.ctrl(pos)?.ty)
    }

    fn err(&self, offset: usize, message: impl Into<String>) -> MmdbError {
        MmdbError::data(self.section, offset, message)
    }

    fn limit(&self, offset: usize, limit: Limit) -> MmdbError {
        MmdbError::LimitExceeded {
            section: self.section,
            offset,
            limit,
        }
    }

    fn charge_values(&mut self, n: u64, offset: usize) -> Result<(), MmdbError> {
        self.values = self.values.saturating_add(n);
        if self.values > u64::from(self.limits.max_values) {
            return Err(self.limit(offset, Limit::Values(self.limits.max_values)));
        }
        Ok(())
    }

    fn charge_payload(&mut self, n: usize, offset: usize) -> Result<(), MmdbError> {
        self.payload = self.payload.saturating_add(n);
        if self.payload > self.limits.max_payload {
            return Err(self.limit(offset, Limit::Payload(self.limits.max_payload)));
        }
        Ok(())
    }

    fn deeper(&self, depth: u32, offset: usize) -> Result<u32, MmdbError> {
        let d = depth.saturating_add(1);
        if d > self.limits.max_depth {
            return Err(self.limit(offset, Limit::Depth(self.limits.max_depth)));
        }
        Ok(d)
    }

    fn byte(&self, pos: usize, at: usize) -> Result<u8, MmdbError> {
        self.buf
            .get(pos)
            .copied()
            .ok_or_else(|| self.err(at, "the value runs past the end of the section"))
    }

    /// The payload bytes `pos..pos+len`, or an error naming the type.
    fn slice(&self, pos: usize, len: usize, ty: u8, at: usize) -> Result<&'a [u8], MmdbError> {
        pos.checked_add(len)
            .and_then(|end| self.buf.get(pos..end))
            .ok_or_else(|| {
                self.err(
                    at,
                    format!(
                        "{} of {len} bytes runs past the end of the section",
                        type_label(ty)
                    ),
                )
            })
    }

    /// Reads the control byte at `pos`, its extended type byte and its size
    /// bytes (or, for a pointer, its pointer bytes).
    fn ctrl(&self, pos: usize) -> Result<Ctrl, MmdbError> {
        let c = self.byte(pos, pos)?;
        let mut next = pos + 1;
        let mut ty = u16::from(c >> 5);
        if ty == u16::from(T_POINTER) {
            let ss = usize::from((c >> 3) & 3);
            let vvv = usize::from(c & 7);
            let bytes = self.slice(next, ss + 1, T_POINTER, pos)?;
            next += ss + 1;
            let mut v: usize = 0;
            for b in bytes {
                v = (v << 8) | usize::from(*b);
            }
            let target = match ss {
                0 => (vvv << 8) | v,
                1 => ((vvv << 16) | v) + 2048,
                2 => ((vvv << 24) | v) + 526_336,
                _ => v,
            };
            return Ok(Ctrl {
                ty,
                size: target,
                payload: next,
            });
        }
        if ty == 0 {
            let ext = self.byte(next, pos)?;
            next += 1;
            if ext == 0 {
                return Err(self.err(pos, "extended type byte 0 is invalid"));
            }
            ty = u16::from(ext) + 7;
        }
        let mut size = usize::from(c & 0x1f);
        if size >= 29 {
            let n = size - 28;
            let bytes = self
                .slice(next, n, T_BYTES, pos)
                .map_err(|_| self.err(pos, "the size bytes run past the end of the section"))?;
            next += n;
            let mut v: usize = 0;
            for b in bytes {
                v = (v << 8) | usize::from(*b);
            }
            size = match n {
                1 => 29 + v,
                2 => 285 + v,
                _ => 65_821 + v,
            };
        }
        Ok(Ctrl {
            ty,
            size,
            payload: next,
        })
    }

    /// Reads a big-endian unsigned integer of at most `max` bytes.
    fn uint(&self, c: &Ctrl, max: usize, at: usize) -> Result<u128, MmdbError> {
        let ty = c.ty as u8;
        if c.size > max {
            return Err(self.err(at, format!("{} of size {}", type_label(ty), c.size)));
        }
        let bytes = self.slice(c.payload, c.size, ty, at)?;
        Ok(bytes.iter().fold(0u128, |v, b| (v << 8) | u128::from(*b)))
    }

    /// Follows the pointer described by `c` (read at `at`): checks the
    /// target and returns it.
    fn pointer_target(&self, c: &Ctrl, at: usize) -> Result<usize, MmdbError> {
        let target = c.size;
        let Some(first) = self.buf.get(target) else {
            return Err(self.err(
                at,
                format!(
                    "pointer to offset {target}, beyond the section ({} bytes)",
                    self.buf.len()
                ),
            ));
        };
        if first >> 5 == T_POINTER {
            return Err(self.err(at, format!("pointer to a pointer at offset {target}")));
        }
        Ok(target)
    }

    /// Decodes the value at `pos`, `depth` levels deep; returns it and the
    /// offset after it (after the pointer, for a pointer).
    ///
    /// This and [`Decoder::decode_map`] / [`Decoder::decode_array`] are the
    /// only recursive functions; everything else is kept out of their frames
    /// so that the deepest nesting allowed fits a 2 MiB thread stack even in
    /// an unoptimised build.
    fn decode(&mut self, pos: usize, depth: u32) -> Result<(Value<'a>, usize), MmdbError> {
        let c = self.ctrl(pos)?;
        match c.ty {
            t if t == u16::from(T_POINTER) => {
                let target = self.pointer_target(&c, pos)?;
                let d = self.deeper(depth, pos)?;
                let (v, _) = self.decode(target, d)?;
                Ok((v, c.payload))
            }
            t if t == u16::from(T_MAP) => self.decode_map(&c, pos, depth),
            t if t == u16::from(T_ARRAY) => self.decode_array(&c, pos, depth),
            _ => self.decode_scalar(&c, pos),
        }
    }

    fn decode_map(
        &mut self,
        c: &Ctrl,
        pos: usize,
        depth: u32,
    ) -> Result<(Value<'a>, usize), MmdbError> {
        let d = self.deeper(depth, pos)?;
        let n = c.size;
        self.charge_values(2 * n as u64, pos)?;
        // Every key and every value takes at least one byte.
        if n.saturating_mul(2) > self.buf.len().saturating_sub(c.payload) {
            return Err(self.container_too_long("a map", n, "entries", pos));
        }
        let mut entries = Vec::with_capacity(n);
        let mut p = c.payload;
        for _ in 0..n {
            let (k, next) = self.decode_key(p, d)?;
            let (v, next) = self.decode(next, d)?;
            entries.push((k, v));
            p = next;
        }
        Ok((Value::Map(entries), p))
    }

    fn decode_array(
        &mut self,
        c: &Ctrl,
        pos: usize,
        depth: u32,
    ) -> Result<(Value<'a>, usize), MmdbError> {
        let d = self.deeper(depth, pos)?;
        let n = c.size;
        self.charge_values(n as u64, pos)?;
        // Every element takes at least one byte.
        if n > self.buf.len().saturating_sub(c.payload) {
            return Err(self.container_too_long("an array", n, "elements", pos));
        }
        let mut items = Vec::with_capacity(n);
        let mut p = c.payload;
        for _ in 0..n {
            let (v, next) = self.decode(p, d)?;
            items.push(v);
            p = next;
        }
        Ok((Value::Array(items), p))
    }

    #[cold]
    #[inline(never)]
    fn container_too_long(&self, what: &str, n: usize, items: &str, pos: usize) -> MmdbError {
        self.err(
            pos,
            format!("{what} of {n} {items} runs past the end of the section"),
        )
    }

    /// Decodes a value that is neither a pointer nor a container.
    #[inline(never)]
    fn decode_scalar(&mut self, c: &Ctrl, pos: usize) -> Result<(Value<'a>, usize), MmdbError> {
        if c.ty > u16::from(T_FLOAT) {
            return Err(self.err(pos, format!("unknown type {}", c.ty)));
        }
        let ty = c.ty as u8;
        // Only used once `slice` has checked the payload is in bounds.
        let after = c.payload.saturating_add(c.size);
        let v = match ty {
            T_STRING => {
                let bytes = self.slice(c.payload, c.size, ty, pos)?;
                self.charge_payload(c.size, pos)?;
                let s = std::str::from_utf8(bytes)
                    .map_err(|e| self.err(pos, format!("string is not valid UTF-8 ({e})")))?;
                Value::Str(s)
            }
            T_BYTES => {
                let bytes = self.slice(c.payload, c.size, ty, pos)?;
                self.charge_payload(c.size, pos)?;
                Value::Bytes(bytes)
            }
            T_DOUBLE | T_FLOAT => {
                let want = if ty == T_DOUBLE { 8 } else { 4 };
                if c.size != want {
                    return Err(self.err(pos, format!("{} of size {}", type_label(ty), c.size)));
                }
                match *self.slice(c.payload, c.size, ty, pos)? {
                    [b0, b1, b2, b3, b4, b5, b6, b7] => {
                        Value::F64(f64::from_be_bytes([b0, b1, b2, b3, b4, b5, b6, b7]))
                    }
                    [b0, b1, b2, b3] => Value::F32(f32::from_be_bytes([b0, b1, b2, b3])),
                    _ => return Err(self.err(pos, "internal: float size")),
                }
            }
            T_U16 => Value::U16(self.uint(c, 2, pos)? as u16),
            T_U32 => Value::U32(self.uint(c, 4, pos)? as u32),
            // Shorter than four bytes is always positive; four bytes are
            // two's complement.
            T_I32 => Value::I32(self.uint(c, 4, pos)? as u32 as i32),
            T_U64 => Value::U64(self.uint(c, 8, pos)? as u64),
            T_U128 => Value::U128(self.uint(c, 16, pos)?),
            T_BOOL => {
                if c.size > 1 {
                    return Err(self.err(pos, format!("a boolean of size {}", c.size)));
                }
                return Ok((Value::Bool(c.size == 1), c.payload));
            }
            _ => {
                return Err(self.err(pos, format!("unsupported type {ty} ({})", type_label(ty))));
            }
        };
        Ok((v, after))
    }

    /// Decodes a map key at `pos`: a string, or a pointer to one.
    fn decode_key(&mut self, pos: usize, depth: u32) -> Result<(&'a str, usize), MmdbError> {
        let c = self.ctrl(pos)?;
        let (at, c, next) = if c.ty == u16::from(T_POINTER) {
            let target = self.pointer_target(&c, pos)?;
            self.deeper(depth, pos)?;
            let next = c.payload;
            (target, self.ctrl(target)?, next)
        } else {
            let next = c.payload.saturating_add(c.size);
            (pos, c, next)
        };
        if c.ty != u16::from(T_STRING) {
            let what = u8::try_from(c.ty).map_or("an unknown type", type_label);
            return Err(self.err(at, format!("map key is {what}, not a string")));
        }
        let bytes = self.slice(c.payload, c.size, T_STRING, at)?;
        self.charge_payload(c.size, at)?;
        let s = std::str::from_utf8(bytes)
            .map_err(|e| self.err(at, format!("map key is not valid UTF-8 ({e})")))?;
        Ok((s, next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(buf: &[u8]) -> Result<Value<'_>, MmdbError> {
        Decoder::new(buf, Section::Data, Limits::RECORD).decode_root(0)
    }

    #[test]
    fn scalars() {
        assert_eq!(dec(b"\x43abc").unwrap(), Value::Str("abc"));
        assert_eq!(dec(b"\x40").unwrap(), Value::Str(""));
        assert_eq!(dec(b"\x82\x00\x01\x02").unwrap(), Value::Bytes(&[0, 1]));
        assert_eq!(dec(b"\xa2\x01\x02").unwrap(), Value::U16(0x102));
        assert_eq!(dec(b"\xa0").unwrap(), Value::U16(0));
        assert_eq!(dec(b"\xc4\xff\xff\xff\xff").unwrap(), Value::U32(u32::MAX));
        assert_eq!(dec(b"\x04\x01\xff\xff\xff\xff").unwrap(), Value::I32(-1));
        assert_eq!(dec(b"\x03\x01\xff\xff\xff").unwrap(), Value::I32(0xff_ffff));
        assert_eq!(
            dec(b"\x08\x02\x01\x00\x00\x00\x00\x00\x00\x00").unwrap(),
            Value::U64(1 << 56)
        );
        assert_eq!(dec(b"\x01\x03\x05").unwrap(), Value::U128(5));
        assert_eq!(dec(b"\x01\x07").unwrap(), Value::Bool(true));
        assert_eq!(dec(b"\x00\x07").unwrap(), Value::Bool(false));
        assert_eq!(dec(b"\x68\x3f\xf0\0\0\0\0\0\0").unwrap(), Value::F64(1.0));
        assert_eq!(dec(b"\x04\x08\x3f\x80\0\0").unwrap(), Value::F32(1.0));
    }

    #[test]
    fn sizes() {
        // Size 29 + next byte.
        let mut b = vec![0x5d, 1];
        b.extend(std::iter::repeat_n(b'x', 30));
        assert_eq!(dec(&b).unwrap().as_str().unwrap().len(), 30);
        // Size 285 + two bytes.
        let mut b = vec![0x5e, 0, 1];
        b.extend(std::iter::repeat_n(b'x', 286));
        assert_eq!(dec(&b).unwrap().as_str().unwrap().len(), 286);
        // Size 65821 + three bytes.
        let mut b = vec![0x5f, 0, 0, 2];
        b.extend(std::iter::repeat_n(b'x', 65_823));
        assert_eq!(dec(&b).unwrap().as_str().unwrap().len(), 65_823);
    }

    #[test]
    fn containers_and_pointers() {
        // {"a": [1u16, "b"], "c": ptr->"b" (offset 7)}
        // 0: map(2) 1: "a" 3: array(2) 5: u16 1 7: "b" 9: "c" 11: ptr 7
        let buf = b"\xe2\x41a\x02\x04\xa1\x01\x41b\x41c\x20\x07";
        let v = dec(buf).unwrap();
        assert_eq!(
            v,
            Value::Map(vec![
                ("a", Value::Array(vec![Value::U16(1), Value::Str("b")])),
                ("c", Value::Str("b")),
            ])
        );
        assert_eq!(v.path(&["a", "1"]).and_then(Value::as_str), Some("b"));
        assert_eq!(v.path(&["a", "0"]).and_then(Value::as_u64), Some(1));
        assert_eq!(v.path(&["a", "2"]), None);
        assert_eq!(v.get("c").and_then(Value::as_str), Some("b"));
        assert_eq!(v.get("zz"), None);
        // Pointer sizes: 19-bit (+2048) and 27-bit (+526336) and 32-bit.
        let mut buf = vec![0u8; 2048 + 8];
        buf[0] = 0x28; // pointer, size 1, vvv 0
        buf[1] = 0;
        buf[2] = 0;
        buf[2048] = 0x41;
        buf[2049] = b'z';
        assert_eq!(dec(&buf).unwrap(), Value::Str("z"));
        let mut buf = vec![0u8; 8];
        buf[..5].copy_from_slice(b"\x38\x00\x00\x00\x06");
        buf[6] = 0x40;
        assert_eq!(dec(&buf).unwrap(), Value::Str(""));
    }

    fn err(buf: &[u8]) -> String {
        dec(buf).unwrap_err().to_string()
    }

    #[test]
    fn malformed_values() {
        assert_eq!(
            err(b""),
            "mmdb data section offset 0: the value runs past the end of the section"
        );
        assert_eq!(
            err(b"\x45ab"),
            "mmdb data section offset 0: a string of 5 bytes runs past the end of the section"
        );
        assert_eq!(err(b"\x42\xff\xfe"), "mmdb data section offset 0: string is not valid UTF-8 (invalid utf-8 sequence of 1 bytes from index 0)");
        assert_eq!(
            err(b"\x65\0\0\0\0\0"),
            "mmdb data section offset 0: a double of size 5"
        );
        assert_eq!(
            err(b"\xa3\0\0\0"),
            "mmdb data section offset 0: a uint16 of size 3"
        );
        assert_eq!(
            err(b"\x02\x07"),
            "mmdb data section offset 0: a boolean of size 2"
        );
        assert_eq!(
            err(b"\x00\x05"),
            "mmdb data section offset 0: unsupported type 12 (a data cache container)"
        );
        assert_eq!(
            err(b"\x00\x06"),
            "mmdb data section offset 0: unsupported type 13 (an end marker)"
        );
        assert_eq!(
            err(b"\x00\x09"),
            "mmdb data section offset 0: unknown type 16"
        );
        assert_eq!(
            err(b"\x00\x00"),
            "mmdb data section offset 0: extended type byte 0 is invalid"
        );
        assert_eq!(
            err(b"\x20\x09"),
            "mmdb data section offset 0: pointer to offset 9, beyond the section (2 bytes)"
        );
        assert_eq!(
            err(b"\x20\x00"),
            "mmdb data section offset 0: pointer to a pointer at offset 0"
        );
        assert_eq!(
            err(b"\x5d"),
            "mmdb data section offset 0: the size bytes run past the end of the section"
        );
        assert_eq!(
            err(b"\xe1\xa0\xa0"),
            "mmdb data section offset 1: map key is a uint16, not a string"
        );
        assert_eq!(
            err(b"\xe5\x41a"),
            "mmdb data section offset 0: a map of 5 entries runs past the end of the section"
        );
        assert_eq!(
            err(b"\x05\x04\xa0"),
            "mmdb data section offset 0: an array of 5 elements runs past the end of the section"
        );
    }

    #[test]
    fn deepest_nesting_fits_a_test_thread_stack() {
        // 256 arrays each holding a pointer to the next: 512 levels, the
        // limit, decoded on the default 2 MiB test thread stack.
        let mut b = Vec::new();
        for i in 0..256u32 {
            let next = (i + 1) * 4;
            b.extend([0x01, 0x04, 0x20 | (next >> 8) as u8, next as u8]);
        }
        b.push(0xa0);
        let v = dec(&b).unwrap();
        let mut depth = 0;
        let mut x = &v;
        while let Value::Array(a) = x {
            depth += 1;
            x = &a[0];
        }
        assert_eq!((depth, x), (256, &Value::U16(0)));
        // One more level is refused.
        b.truncate(b.len() - 1);
        b.extend([0x01, 0x04, 0xa0]);
        assert!(matches!(
            dec(&b),
            Err(MmdbError::LimitExceeded {
                limit: Limit::Depth(512),
                ..
            })
        ));
    }

    #[test]
    fn limits() {
        // An array of n pointers to offset 0 (a uint16): n + 1 values.
        let fan = |n: usize| {
            let mut b = vec![0xa0, 0x1e, 0x04];
            let enc = n - 285;
            b.extend([(enc >> 8) as u8, enc as u8]);
            for _ in 0..n {
                b.extend([0x20, 0x00]);
            }
            b
        };
        let b = fan(65_535);
        let v = Decoder::new(&b, Section::Data, Limits::RECORD)
            .decode_root(1)
            .unwrap();
        assert_eq!(v.as_array().unwrap().len(), 65_535);
        let b = fan(65_536);
        let e = Decoder::new(&b, Section::Data, Limits::RECORD)
            .decode_root(1)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "mmdb data section offset 1: refused: more than 65536 values in one record"
        );
        // Nesting: arrays of one array, 600 deep.
        let mut b = Vec::new();
        for _ in 0..600 {
            b.extend([0x01, 0x04]);
        }
        b.push(0xa0);
        let e = dec(&b).unwrap_err();
        assert_eq!(
            e.to_string(),
            "mmdb data section offset 1024: refused: values nested deeper than 512 levels"
        );
        // Payload: a string charged at each occurrence.
        let mut b = vec![0x5f, 0x00, 0x00, 0x00];
        b.extend(std::iter::repeat_n(b'a', 65_821));
        let top = b.len();
        b.extend([29, 0x04, 33 - 29]);
        for _ in 0..33 {
            b.extend([0x20, 0x00]);
        }
        let e = Decoder::new(&b, Section::Data, Limits::RECORD)
            .decode_root(top)
            .unwrap_err();
        assert!(
            matches!(
                e,
                MmdbError::LimitExceeded {
                    limit: Limit::Payload(2_097_152),
                    ..
                }
            ),
            "{e}"
        );
        // 31 occurrences fit.
        b.truncate(top);
        b.extend([29, 0x04, 31 - 29]);
        for _ in 0..31 {
            b.extend([0x20, 0x00]);
        }
        assert!(Decoder::new(&b, Section::Data, Limits::RECORD)
            .decode_root(top)
            .is_ok());
    }
}
