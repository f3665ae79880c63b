//! `libipgeo_ffi.so`: the native module ipgeo's Lua code loads in nginx.
//!
//! Two surfaces over one handle (`ipgeo_db_t`):
//!
//! - **Control, through mlua** (`luaopen_ipgeo_native`): opening a table,
//!   metadata, checking and reloading. Cold paths, called from `init_by_lua`,
//!   timers and admin handlers.
//! - **Lookups, through a plain C ABI** (`ipgeo_*` below, declared to LuaJIT
//!   with `ffi.cdef` in `lua/ipgeo/cdefs.lua`): JIT-compiled calls that
//!   return integers, and fill caller buffers. No allocation, no Lua API.
//!
//! The C functions never unwind: each body runs under `catch_unwind`, and
//! errors are negative return codes. A handle is used from one thread (the
//! nginx worker that owns it); tables are swapped only by the control
//! surface, on that same thread, so a lookup never races a swap.

#![deny(missing_docs)]

use std::cell::{Cell, RefCell};
use std::ffi::{c_char, c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use ipgeo::addr::{self, Addr};
use ipgeo::format::{self, ColumnType};
use ipgeo::live::{Check, Live, LiveOptions, Loaded};
use ipgeo::table::{Network, ValueRef};
use mlua::prelude::*;

/// Version of the C ABI below; the Lua side refuses a library with another.
pub const ABI_VERSION: c_int = 3;

/// Return code: the address is not valid text.
pub const ERR_INVALID: i32 = -1;
/// Return code: the handle has no table (closed).
pub const ERR_CLOSED: i32 = -2;
/// Return code: an internal error (a caught panic).
pub const ERR_INTERNAL: i32 = -3;
/// Return code: the output buffer is too small.
pub const ERR_BUFFER: i32 = -4;

/// The handle behind `ipgeo_db_t *`.
pub struct Db {
    live: RefCell<Option<Live>>,
    /// The table in use, for the hot path: points into `live`'s current
    /// `Arc<Loaded>`, refreshed on every swap, null once closed.
    current: Cell<*const Loaded>,
    generation: Cell<u32>,
}

impl Db {
    fn refresh(&self) {
        let live = self.live.borrow();
        match live.as_ref() {
            Some(l) => {
                self.current.set(std::sync::Arc::as_ptr(l.current()));
                self.generation.set(l.generation() as u32);
            }
            None => self.current.set(std::ptr::null()),
        }
    }
}

/// One value of a record, as handed to Lua.
#[repr(C)]
pub struct Value {
    /// String values: pointer into the table (valid until the next swap).
    pub str: *const c_char,
    /// String length.
    pub len: usize,
    /// Numeric values (a float stored as f32 is given as the double of its
    /// shortest decimal text, so it prints as the source wrote it).
    pub num: f64,
    /// Column index.
    pub col: i32,
    /// Column type: 1 string, 2 u32, 3 f32, 4 f64.
    pub ty: i32,
}

/// Runs `f` on the handle's current table; never unwinds.
#[inline(always)]
fn with_table<R>(db: *const Db, fallback: R, panic: R, f: impl FnOnce(&Loaded) -> R) -> R {
    catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `db` comes from `ptr()` on a live handle: the Lua side keeps
        // the userdata (which owns the `Db`) alive as long as the cdata
        // pointer, and uses it from the owning thread only.
        let Some(db) = (unsafe { db.as_ref() }) else {
            return fallback;
        };
        // SAFETY: `current` points into the `Arc<Loaded>` held by `live`,
        // replaced only by `refresh` on this same thread; null once closed.
        match unsafe { db.current.get().as_ref() } {
            Some(l) => f(l),
            None => fallback,
        }
    }))
    .unwrap_or(panic)
}

/// The bytes of caller text.
///
/// # Safety
/// `ptr` must point to `len` readable bytes (or be null).
#[inline(always)]
unsafe fn bytes<'a>(ptr: *const c_char, len: usize) -> Option<&'a [u8]> {
    if ptr.is_null() || len > addr::MAX_LEN {
        return None;
    }
    // SAFETY: the caller guarantees `len` readable bytes at `ptr`.
    Some(unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) })
}

#[inline(always)]
fn locate(l: &Loaded, a: Addr) -> Option<(u32, Network)> {
    match a {
        Addr::V4(v) => l.table.locate_v4(v),
        Addr::V6(v) => l.table.locate_v6(v),
    }
}

#[inline(always)]
fn find(l: &Loaded, a: Addr) -> u32 {
    match a {
        Addr::V4(v) => l.table.find_v4_ref(v),
        Addr::V6(v) => l.table.find_v6_ref(v),
    }
}

/// The C ABI version.
#[no_mangle]
pub extern "C" fn ipgeo_abi_version() -> c_int {
    ABI_VERSION
}

/// Looks up address text. Returns a record reference (> 0), 0 when the
/// table has no data for the address, or a negative error code.
///
/// # Safety
/// `db` must be a handle from `ptr()`; `ip` must point to `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn ipgeo_lookup(db: *const Db, ip: *const c_char, len: usize) -> i32 {
    with_table(db, ERR_CLOSED, ERR_INTERNAL, |l| {
        // SAFETY: forwarded from this function's contract.
        match unsafe { bytes(ip, len) }.and_then(addr::parse) {
            Some(a) => find(l, a) as i32,
            None => ERR_INVALID,
        }
    })
}

/// Looks up address text and returns its country code as two ASCII bytes
/// (`first | second << 8`), 0 when there is no data or no country code, or
/// a negative error code.
///
/// # Safety
/// As [`ipgeo_lookup`].
#[no_mangle]
pub unsafe extern "C" fn ipgeo_lookup_cc(db: *const Db, ip: *const c_char, len: usize) -> i32 {
    with_table(db, ERR_CLOSED, ERR_INTERNAL, |l| {
        // SAFETY: forwarded from this function's contract.
        let Some(a) = (unsafe { bytes(ip, len) }).and_then(addr::parse) else {
            return ERR_INVALID;
        };
        let cc = match a {
            Addr::V4(v) => l.table.country_code_v4(v),
            Addr::V6(v) => l.table.country_code_v6(v),
        };
        cc.map_or(0, |[a, b]| i32::from(a) | (i32::from(b) << 8))
    })
}

/// Looks up address text like [`ipgeo_lookup`], and also writes the matched
/// network (`1.2.3.0/24`) to `net` (`cap` bytes, not NUL-terminated),
/// setting `*net_len`. `*net_len` is 0 when there is no data.
///
/// # Safety
/// As [`ipgeo_lookup`]; `net` must have `cap` writable bytes and `net_len`
/// be writable.
#[no_mangle]
pub unsafe extern "C" fn ipgeo_lookup_net(
    db: *const Db,
    ip: *const c_char,
    len: usize,
    net: *mut c_char,
    cap: usize,
    net_len: *mut usize,
) -> i32 {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        locate_into(db, ip, len, net, cap, net_len, |out, _, network| {
            network.write_text(out)
        })
    }
}

/// Room that always suffices for [`ipgeo_lookup_head`]'s text: the longest
/// address and network texts plus the JSON around them.
pub const HEAD_CAP: usize = 128;

/// Looks up address text like [`ipgeo_lookup_net`], and writes the start of
/// the HTTP API's JSON object for it to `out` (`cap` bytes, not
/// NUL-terminated): `{"ip":"<ip>","network":"<network>"`, with the address
/// text as given (it parsed as an address, so it holds nothing to escape).
/// Sets `*out_len`, 0 when there is no data. One short string per answer
/// for the caller to intern, instead of one for the address and one for
/// the network.
///
/// # Safety
/// As [`ipgeo_lookup`]; `out` must have `cap` writable bytes and `out_len`
/// be writable.
#[no_mangle]
pub unsafe extern "C" fn ipgeo_lookup_head(
    db: *const Db,
    ip: *const c_char,
    len: usize,
    out: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> i32 {
    // SAFETY: forwarded from this function's contract.
    unsafe { locate_into(db, ip, len, out, cap, out_len, write_head) }
}

/// The body of [`ipgeo_lookup_net`] and [`ipgeo_lookup_head`]: looks up
/// address text, and where it is found, `write(out, text, network)` fills
/// the caller's buffer and gives the length for `*out_len` (0 when there is
/// no data). The record itself is not read: callers cache by reference.
///
/// # Safety
/// As [`ipgeo_lookup_net`].
unsafe fn locate_into(
    db: *const Db,
    ip: *const c_char,
    len: usize,
    out: *mut c_char,
    cap: usize,
    out_len: *mut usize,
    write: impl FnOnce(&mut [u8], &[u8], &Network) -> Option<usize>,
) -> i32 {
    with_table(db, ERR_CLOSED, ERR_INTERNAL, |l| {
        if out.is_null() || out_len.is_null() {
            return ERR_BUFFER;
        }
        // SAFETY: the caller guarantees `out_len` is writable.
        unsafe { *out_len = 0 };
        // SAFETY: forwarded from this function's contract.
        let Some(text) = (unsafe { bytes(ip, len) }) else {
            return ERR_INVALID;
        };
        let Some(a) = addr::parse(text) else {
            return ERR_INVALID;
        };
        let Some((r, network)) = locate(l, a) else {
            return 0;
        };
        // SAFETY: the caller guarantees `cap` writable bytes at `out`.
        let out = unsafe { std::slice::from_raw_parts_mut(out.cast::<u8>(), cap) };
        let Some(n) = write(out, text, &network) else {
            return ERR_BUFFER;
        };
        // SAFETY: `out_len` is writable (checked non-null above).
        unsafe { *out_len = n };
        r as i32
    })
}

/// Finds the first `key=value` pair in query string `q` (`qlen` bytes,
/// pairs separated by `&`), so that the HTTP API reads its arguments
/// without making a Lua string of the query. Returns 0 when `key` is
/// absent; otherwise sets the value's offset in `q` and its length (raw,
/// not unescaped) and returns 1, or 2 when the value holds `%` or `+` and
/// needs unescaping. [`ERR_BUFFER`] for null pointers.
///
/// # Safety
/// `q` must point to `qlen` readable bytes and `key` to `klen`; `at` and
/// `len` must be writable.
#[no_mangle]
pub unsafe extern "C" fn ipgeo_query_arg(
    q: *const c_char,
    qlen: usize,
    key: *const c_char,
    klen: usize,
    at: *mut usize,
    len: *mut usize,
) -> c_int {
    catch_unwind(AssertUnwindSafe(|| {
        if at.is_null() || len.is_null() || key.is_null() || (q.is_null() && qlen > 0) {
            return ERR_BUFFER;
        }
        if q.is_null() {
            return 0;
        }
        // SAFETY: the caller guarantees the lengths of `q` and `key`.
        let (q, key) = unsafe {
            (
                std::slice::from_raw_parts(q.cast::<u8>(), qlen),
                std::slice::from_raw_parts(key.cast::<u8>(), klen),
            )
        };
        let Some((offset, value)) = query_arg(q, key) else {
            return 0;
        };
        // SAFETY: `at` and `len` are writable (checked non-null above).
        unsafe {
            *at = offset;
            *len = value.len();
        }
        if value.iter().any(|&b| b == b'%' || b == b'+') {
            2
        } else {
            1
        }
    }))
    .unwrap_or(ERR_INTERNAL)
}

/// The offset and raw bytes of the first value of `key` in query string `q`.
fn query_arg<'q>(q: &'q [u8], key: &[u8]) -> Option<(usize, &'q [u8])> {
    let mut start = 0;
    for pair in q.split(|&b| b == b'&') {
        if pair.len() > key.len() && pair.starts_with(key) && pair[key.len()] == b'=' {
            let at = start + key.len() + 1;
            return Some((at, &q[at..start + pair.len()]));
        }
        start += pair.len() + 1;
    }
    None
}

/// Recognises the common POST body, a JSON object whose only member is
/// `"ip"` with a plain string value (`{"ip": "1.2.3.4"}`, JSON whitespace
/// anywhere between tokens, no escapes or control characters in the
/// string), so that the HTTP API answers it without decoding JSON into Lua
/// tables and strings. Returns 1 and sets the value's offset and length, or
/// 0 for any other body (which the caller decodes in full: the two readings
/// agree wherever this one answers). [`ERR_BUFFER`] for null pointers.
///
/// # Safety
/// `body` must point to `len` readable bytes; `at` and `vlen` must be
/// writable.
#[no_mangle]
pub unsafe extern "C" fn ipgeo_json_ip(
    body: *const c_char,
    len: usize,
    at: *mut usize,
    vlen: *mut usize,
) -> c_int {
    catch_unwind(AssertUnwindSafe(|| {
        if body.is_null() || at.is_null() || vlen.is_null() {
            return ERR_BUFFER;
        }
        // SAFETY: the caller guarantees `len` readable bytes at `body`.
        let body = unsafe { std::slice::from_raw_parts(body.cast::<u8>(), len) };
        match json_ip(body) {
            Some((offset, n)) => {
                // SAFETY: `at` and `vlen` are writable (checked non-null).
                unsafe {
                    *at = offset;
                    *vlen = n;
                }
                1
            }
            None => 0,
        }
    }))
    .unwrap_or(ERR_INTERNAL)
}

/// The offset and length of the string in a body that is exactly
/// `{"ip":"<plain string>"}` (with JSON whitespace), or `None`.
fn json_ip(body: &[u8]) -> Option<(usize, usize)> {
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while matches!(body.get(*i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            *i += 1;
        }
    };
    let expect = |i: &mut usize, token: &[u8]| -> Option<()> {
        skip_ws(i);
        (body.get(*i..*i + token.len())? == token).then(|| *i += token.len())
    };
    expect(&mut i, b"{")?;
    expect(&mut i, b"\"ip\"")?;
    expect(&mut i, b":")?;
    expect(&mut i, b"\"")?;
    let start = i;
    let n = body[start..].iter().position(|&b| b == b'"')?;
    if body[start..start + n]
        .iter()
        .any(|&b| b == b'\\' || b < 0x20)
    {
        return None;
    }
    i = start + n + 1;
    expect(&mut i, b"}")?;
    skip_ws(&mut i);
    (i == body.len()).then_some((start, n))
}

/// The value of decimal text of at most 15 digits (a header nginx has
/// already checked, such as Content-Length), or -1.
///
/// # Safety
/// `text` must point to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn ipgeo_decimal(text: *const c_char, len: usize) -> i64 {
    catch_unwind(AssertUnwindSafe(|| {
        if text.is_null() || len == 0 || len > 15 {
            return -1;
        }
        // SAFETY: the caller guarantees `len` readable bytes at `text`.
        let text = unsafe { std::slice::from_raw_parts(text.cast::<u8>(), len) };
        text.iter()
            .try_fold(0i64, |v, &b| {
                b.is_ascii_digit().then(|| v * 10 + i64::from(b - b'0'))
            })
            .unwrap_or(-1)
    }))
    .unwrap_or(-1)
}

/// `{"ip":"<ip>","network":"<network>"` at the front of `out`: its length,
/// or `None` if `out` is too short.
fn write_head(out: &mut [u8], ip: &[u8], network: &Network) -> Option<usize> {
    let mut n = 0;
    let mut put = |out: &mut [u8], part: &[u8]| -> Option<()> {
        out.get_mut(n..n + part.len())?.copy_from_slice(part);
        n += part.len();
        Some(())
    };
    put(out, b"{\"ip\":\"")?;
    put(out, ip)?;
    put(out, b"\",\"network\":\"")?;
    let written = network.write_text(out.get_mut(n..)?)?;
    n += written;
    *out.get_mut(n)? = b'"';
    Some(n + 1)
}

/// Writes the present values of record `rec` to `out` (room for `cap`),
/// in column order. Returns how many were written, or a negative error code.
/// String pointers stay valid until the handle's table is swapped.
///
/// # Safety
/// As [`ipgeo_lookup`]; `out` must have room for `cap` values.
#[no_mangle]
pub unsafe extern "C" fn ipgeo_record_values(
    db: *const Db,
    rec: i32,
    out: *mut Value,
    cap: c_int,
) -> c_int {
    with_table(db, ERR_CLOSED, ERR_INTERNAL, |l| {
        let Ok(r) = u32::try_from(rec) else {
            return ERR_INVALID;
        };
        let Some(record) = l.table.record(r) else {
            return ERR_INVALID;
        };
        if out.is_null() || cap < 0 {
            return ERR_BUFFER;
        }
        let mut n = 0usize;
        for (i, c) in l.table.columns().iter().enumerate() {
            let Some(v) = record.column(i) else { continue };
            if n >= cap as usize {
                return ERR_BUFFER;
            }
            let (s, slen, num) = match v {
                ValueRef::Str(s) => (s.as_ptr().cast::<c_char>(), s.len(), 0.0),
                ValueRef::U32(x) => (std::ptr::null(), 0, f64::from(x)),
                // The double closest to the f32's shortest decimal text.
                ValueRef::F32(x) => (
                    std::ptr::null(),
                    0,
                    x.to_string().parse().unwrap_or(f64::from(x)),
                ),
                ValueRef::F64(x) => (std::ptr::null(), 0, x),
            };
            let ty = match c.ty {
                ColumnType::Str => 1,
                ColumnType::U32 => 2,
                ColumnType::F32 => 3,
                ColumnType::F64 => 4,
            };
            // SAFETY: `n < cap`, and `out` has room for `cap` values.
            unsafe {
                out.add(n).write(Value {
                    str: s,
                    len: slen,
                    num,
                    col: i as i32,
                    ty,
                });
            }
            n += 1;
        }
        n as c_int
    })
}

/// Looks up `n` address texts at once (`refs[i]` as [`ipgeo_lookup`] would
/// return for `ips[i]`), interleaving the lookups for memory parallelism.
/// Returns `n`, or a negative error code.
///
/// # Safety
/// As [`ipgeo_lookup`]; `ips` and `lens` must hold `n` entries and `refs`
/// have room for `n`.
#[no_mangle]
pub unsafe extern "C" fn ipgeo_lookup_batch(
    db: *const Db,
    ips: *const *const c_char,
    lens: *const usize,
    refs: *mut i32,
    n: c_int,
) -> c_int {
    with_table(db, ERR_CLOSED, ERR_INTERNAL, |l| {
        if ips.is_null() || lens.is_null() || refs.is_null() || n < 0 {
            return ERR_BUFFER;
        }
        // SAFETY: forwarded from this function's contract.
        unsafe { batch_refs(l, ips, lens, refs, n as usize, |_, _, r| r as i32) };
        n
    })
}

/// Bytes per network text in [`ipgeo_locate_batch`]'s `nets` buffer (the
/// longest, an IPv6 address with `/128`, takes 43).
pub const NET_STRIDE: usize = 48;

/// Looks up `n` address texts at once like [`ipgeo_lookup_net`]: `refs[i]`
/// as [`ipgeo_lookup_net`] returns it, and where it is positive, the matched
/// network's text at `nets + i * NET_STRIDE`, `net_lens[i]` bytes long (0
/// otherwise). The lookups are interleaved for memory parallelism first, so
/// the networks are then found in warm memory. Returns `n`, or a negative
/// error code.
///
/// # Safety
/// As [`ipgeo_lookup_batch`]; `nets` must have room for `n * NET_STRIDE`
/// bytes and `net_lens` for `n` entries.
#[no_mangle]
pub unsafe extern "C" fn ipgeo_locate_batch(
    db: *const Db,
    ips: *const *const c_char,
    lens: *const usize,
    refs: *mut i32,
    nets: *mut c_char,
    net_lens: *mut u8,
    n: c_int,
) -> c_int {
    with_table(db, ERR_CLOSED, ERR_INTERNAL, |l| {
        if ips.is_null()
            || lens.is_null()
            || refs.is_null()
            || nets.is_null()
            || net_lens.is_null()
            || n < 0
        {
            return ERR_BUFFER;
        }
        let n = n as usize;
        // SAFETY: `net_lens` has room for `n` (contract); addresses that do
        // not parse keep length 0.
        unsafe { std::ptr::write_bytes(net_lens, 0, n) };
        let network_of = |i: usize, a: Addr, r: u32| -> i32 {
            if r == format::REC_NONE {
                return 0;
            }
            // The table's memory for `a` is warm from the interleaved pass.
            let Some((r, network)) = locate(l, a) else {
                // (Only a table whose index and ranges disagree, which
                // `open` cannot rule out and `verify` reports.)
                return 0;
            };
            // SAFETY: `i < n`; `nets` has room for `n * NET_STRIDE` bytes
            // and `net_lens` for `n` entries (contract).
            let (out, out_len) = unsafe {
                (
                    std::slice::from_raw_parts_mut(
                        nets.add(i * NET_STRIDE).cast::<u8>(),
                        NET_STRIDE,
                    ),
                    &mut *net_lens.add(i),
                )
            };
            let Some(len) = network.write_text(out) else {
                return ERR_BUFFER;
            };
            *out_len = len as u8;
            r as i32
        };
        // SAFETY: forwarded from this function's contract.
        unsafe { batch_refs(l, ips, lens, refs, n, network_of) };
        n as c_int
    })
}

/// The chunked, interleaved reference lookup behind the batch functions:
/// per chunk, parses the addresses, looks them up together, then sets
/// `refs[i]` to `each(i, address, reference)` (so `each` finds the
/// address's memory warm), or to [`ERR_INVALID`] for text that is no
/// address.
///
/// # Safety
/// `ips` and `lens` hold `n` entries, each pointing to `len` readable
/// bytes; `refs` has room for `n`.
unsafe fn batch_refs(
    l: &Loaded,
    ips: *const *const c_char,
    lens: *const usize,
    refs: *mut i32,
    n: usize,
    mut each: impl FnMut(usize, Addr, u32) -> i32,
) {
    const CHUNK: usize = 64;
    let mut v4 = [0u32; CHUNK];
    let mut v4_at = [0usize; CHUNK];
    let mut v6 = [0u128; CHUNK];
    let mut v6_at = [0usize; CHUNK];
    let mut found = [0u32; CHUNK];
    let mut start = 0;
    while start < n {
        let end = (start + CHUNK).min(n);
        let (mut n4, mut n6) = (0, 0);
        for i in start..end {
            // SAFETY: `i < n`; the arrays hold `n` entries.
            let (p, len) = unsafe { (*ips.add(i), *lens.add(i)) };
            // SAFETY: each entry points to `len` bytes (contract).
            match unsafe { bytes(p, len) }.and_then(addr::parse) {
                Some(Addr::V4(a)) => {
                    v4[n4] = a;
                    v4_at[n4] = i;
                    n4 += 1;
                }
                Some(Addr::V6(a)) => {
                    v6[n6] = a;
                    v6_at[n6] = i;
                    n6 += 1;
                }
                // SAFETY: `refs` has room for `n`.
                None => unsafe { *refs.add(i) = ERR_INVALID },
            }
        }
        l.table.find_v4_refs(&v4[..n4], &mut found[..n4]);
        for k in 0..n4 {
            let i = v4_at[k];
            // SAFETY: `i < n`.
            unsafe { *refs.add(i) = each(i, Addr::V4(v4[k]), found[k]) };
        }
        l.table.find_v6_refs(&v6[..n6], &mut found[..n6]);
        for k in 0..n6 {
            let i = v6_at[k];
            // SAFETY: `i < n`.
            unsafe { *refs.add(i) = each(i, Addr::V6(v6[k]), found[k]) };
        }
        start = end;
    }
}

/// Parses address text into 16 bytes (`out`, network order; IPv4 in the
/// first 4). Returns 4 or 6 (the family), or [`ERR_INVALID`].
///
/// # Safety
/// `ip` must point to `len` bytes; `out` must have 16 writable bytes.
#[no_mangle]
pub unsafe extern "C" fn ipgeo_parse_addr(ip: *const c_char, len: usize, out: *mut u8) -> c_int {
    catch_unwind(AssertUnwindSafe(|| {
        if out.is_null() {
            return ERR_BUFFER;
        }
        // SAFETY: forwarded from this function's contract.
        let (bytes, family) = match unsafe { bytes(ip, len) }.and_then(addr::parse) {
            Some(Addr::V4(a)) => {
                let mut b = [0u8; 16];
                b[..4].copy_from_slice(&a.to_be_bytes());
                (b, 4)
            }
            Some(Addr::V6(a)) => (a.to_be_bytes(), 6),
            None => return ERR_INVALID,
        };
        // SAFETY: `out` has 16 writable bytes (contract).
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), out, 16) };
        family
    }))
    .unwrap_or(ERR_INTERNAL)
}

/// The handle's generation: 1 after open, +1 per table swapped in, 0 once
/// closed.
///
/// # Safety
/// `db` must be a handle from `ptr()`.
#[no_mangle]
pub unsafe extern "C" fn ipgeo_generation(db: *const Db) -> u32 {
    catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: as in `with_table`.
        match unsafe { db.as_ref() } {
            Some(d) if !d.current.get().is_null() => d.generation.get(),
            _ => 0,
        }
    }))
    .unwrap_or(0)
}

// ---------------------------------------------------------------------------
// The control surface (mlua).

/// The Lua userdata that owns a handle.
struct Handle(Box<Db>);

fn epoch(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl Handle {
    fn live<R>(&self, f: impl FnOnce(&mut Live) -> R) -> LuaResult<R> {
        let mut live = self.0.live.borrow_mut();
        match live.as_mut() {
            Some(l) => Ok(f(l)),
            None => Err(LuaError::runtime("ipgeo: the database is closed")),
        }
    }

    fn info(&self, lua: &Lua) -> LuaResult<LuaTable> {
        let live = self.0.live.borrow();
        let Some(live) = live.as_ref() else {
            return Err(LuaError::runtime("ipgeo: the database is closed"));
        };
        let cur = live.current();
        let t = &cur.table;
        let m = t.meta();
        let info = lua.create_table()?;
        info.set("path", live.path().display().to_string())?;
        info.set(
            "snapshot",
            cur.snapshot.as_ref().map(|p| p.display().to_string()),
        )?;
        info.set("size", m.size)?;
        info.set("checksum", format!("{:016x}", m.checksum))?;
        info.set("build_time", m.build_time)?;
        info.set("generation", live.generation())?;
        info.set("loaded_at", epoch(cur.loaded_at))?;
        info.set("last_check", live.last_check().map(epoch))?;
        info.set("last_error", live.last_error())?;
        info.set(
            "languages",
            lua.create_sequence_from(m.languages.iter().cloned())?,
        )?;
        let (n4, n6) = t.range_counts();
        info.set("v4_ranges", n4)?;
        info.set("v6_ranges", n6)?;
        info.set("meta", serde_json::to_string(&m.json).unwrap_or_default())?;
        Ok(info)
    }

    fn columns(&self, lua: &Lua) -> LuaResult<LuaTable> {
        let live = self.0.live.borrow();
        let Some(live) = live.as_ref() else {
            return Err(LuaError::runtime("ipgeo: the database is closed"));
        };
        let t = &live.current().table;
        let langs = &t.meta().languages;
        let out = lua.create_table()?;
        for (i, c) in t.columns().iter().enumerate() {
            let e = lua.create_table()?;
            let field = c
                .field
                .map_or_else(|| format!("field{}", c.field_id), |f| f.name().to_string());
            e.set("index", i)?;
            e.set("field", field)?;
            e.set(
                "lang",
                c.lang.and_then(|l| langs.get(usize::from(l)).cloned()),
            )?;
            e.set("lang_index", c.lang.map(|l| i64::from(l) + 1))?;
            e.set(
                "type",
                match c.ty {
                    ColumnType::Str => "string",
                    _ => "number",
                },
            )?;
            out.push(e)?;
        }
        Ok(out)
    }
}

impl LuaUserData for Handle {
    fn add_methods<M: LuaUserDataMethods<Self>>(m: &mut M) {
        // The pointer the C ABI takes.
        m.add_method("ptr", |_, h, ()| {
            Ok(LuaLightUserData(&*h.0 as *const Db as *mut c_void))
        });
        m.add_method("info", |lua, h, ()| h.info(lua));
        m.add_method("columns", |lua, h, ()| h.columns(lua));
        m.add_method("generation", |_, h, ()| Ok(h.0.generation.get()));
        // Non-blocking check: "unchanged" | "loading" | "swapped" | "failed", err
        m.add_method("check", |_, h, ()| {
            let r = h.live(|l| l.check())?;
            h.0.refresh();
            Ok(match r {
                Check::Unchanged => ("unchanged", None),
                Check::Loading => ("loading", None),
                Check::Swapped => ("swapped", None),
                Check::Failed(e) => ("failed", Some(e)),
            })
        });
        // Blocking reload: true (swapped) | false (unchanged) | nil, err
        m.add_method("reload", |_, h, force: Option<bool>| {
            let r = h.live(|l| l.reload(force.unwrap_or(false)))?;
            h.0.refresh();
            Ok(match r {
                Ok(swapped) => (Some(swapped), None),
                Err(e) => (None, Some(e.to_string())),
            })
        });
        m.add_method("close", |_, h, ()| {
            h.0.live.borrow_mut().take();
            h.0.refresh();
            Ok(())
        });
    }
}

fn open(
    _: &Lua,
    (path, opts): (String, Option<LuaTable>),
) -> LuaResult<(Option<Handle>, Option<String>)> {
    let mut o = LiveOptions::default();
    if let Some(t) = opts {
        o.snapshot_dir = t.get::<Option<String>>("snapshot_dir")?.map(PathBuf::from);
        o.no_snapshot = t.get::<Option<bool>>("snapshot")? == Some(false);
        o.unlink_snapshot = t.get::<Option<bool>>("unlink_snapshot")?.unwrap_or(false);
    }
    match Live::open(&path, o) {
        Ok(live) => {
            let db = Box::new(Db {
                live: RefCell::new(Some(live)),
                current: Cell::new(std::ptr::null()),
                generation: Cell::new(0),
            });
            db.refresh();
            Ok((Some(Handle(db)), None))
        }
        Err(e) => Ok((None, Some(e.to_string()))),
    }
}

fn module(lua: &Lua) -> LuaResult<LuaTable> {
    // Externally managed state: skip mlua's allocation checks (ngx_lua owns
    // the allocator).
    lua.skip_memory_check(true);
    let m = lua.create_table()?;
    m.set("open", lua.create_function(open)?)?;
    m.set("abi_version", ABI_VERSION)?;
    m.set("version", env!("CARGO_PKG_VERSION"))?;
    Ok(m)
}

/// The Lua entry point: `package.loadlib(path, "luaopen_ipgeo_native")`.
///
/// # Safety
/// Called by Lua with a valid state.
#[no_mangle]
pub unsafe extern "C-unwind" fn luaopen_ipgeo_native(state: *mut mlua::ffi::lua_State) -> c_int {
    // SAFETY: `state` is the calling Lua state.
    unsafe { Lua::entrypoint1(state, module) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_arg_finds_the_first_pair_of_the_key() {
        let q = b"db=x&ip=1.2.3.4&ip=5.6.7.8&zip=9";
        assert_eq!(query_arg(q, b"ip"), Some((8, &b"1.2.3.4"[..])));
        assert_eq!(query_arg(q, b"db"), Some((3, &b"x"[..])));
        assert_eq!(query_arg(q, b"zip"), Some((31, &b"9"[..])));
        assert_eq!(query_arg(q, b"p"), None);
        assert_eq!(query_arg(b"ip=", b"ip"), Some((3, &b""[..])));
        assert_eq!(query_arg(b"ip", b"ip"), None);
        assert_eq!(query_arg(b"&&ip=1&", b"ip"), Some((5, &b"1"[..])));
        assert_eq!(query_arg(b"xip=1&ip=2", b"ip"), Some((9, &b"2"[..])));
        assert_eq!(query_arg(b"", b"ip"), None);
    }

    #[test]
    fn query_arg_reports_values_to_unescape() {
        let mut at = 0usize;
        let mut len = 0usize;
        let call = |q: &str, at: &mut usize, len: &mut usize| unsafe {
            ipgeo_query_arg(
                q.as_ptr().cast(),
                q.len(),
                b"ip".as_ptr().cast(),
                2,
                at,
                len,
            )
        };
        assert_eq!(call("ip=1.2.3.4", &mut at, &mut len), 1);
        assert_eq!((at, len), (3, 7));
        assert_eq!(call("a=1&ip=%3A%3A1", &mut at, &mut len), 2);
        assert_eq!((at, len), (7, 7));
        assert_eq!(call("ip=1+2", &mut at, &mut len), 2);
        assert_eq!(call("a=%20", &mut at, &mut len), 0);
        // SAFETY: a null query string is refused, never read.
        let null_query = |qlen, at: &mut usize, len: &mut usize| unsafe {
            ipgeo_query_arg(std::ptr::null(), qlen, b"ip".as_ptr().cast(), 2, at, len)
        };
        assert_eq!(null_query(0, &mut at, &mut len), 0);
        assert_eq!(null_query(5, &mut at, &mut len), ERR_BUFFER);
    }

    #[test]
    fn json_ip_takes_only_the_plain_single_member_object() {
        fn ip(b: &str) -> Option<&str> {
            json_ip(b.as_bytes()).map(|(at, n)| &b[at..at + n])
        }
        assert_eq!(ip(r#"{"ip":"1.2.3.4"}"#), Some("1.2.3.4"));
        assert_eq!(ip(" \r\n{ \"ip\" :\t\"::1\" }\n"), Some("::1"));
        assert_eq!(ip(r#"{"ip":""}"#), Some(""));
        assert_eq!(ip(r#"{"ip":"a b"}"#), Some("a b"));
        // Everything else is left to the full decoder.
        for other in [
            r#"{"ip":"1.2.3.4","db":"b"}"#,
            r#"{"ip":"1.2.3.4","ip":"5.6.7.8"}"#,
            r#"{"db":"b","ip":"1.2.3.4"}"#,
            r#"{"ip":"\u0031.2.3.4"}"#,
            r#"{"ip":1}"#,
            r#"{"ip":null}"#,
            r#"{"ips":["1.2.3.4"]}"#,
            r#"{"i\u0070":"1.2.3.4"}"#,
            r#"{"ip":"1.2.3.4"} x"#,
            r#"{"ip":"1.2.3.4""#,
            r#"{"ip":"1.2.3.4}"#,
            "{\"ip\":\"1.2\t3.4\"}",
            r#"["ip","1.2.3.4"]"#,
            "\u{feff}{\"ip\":\"1.2.3.4\"}",
            "",
            "{",
        ] {
            assert_eq!(ip(other), None, "{other}");
        }
    }

    /// Wherever `json_ip` answers, a full JSON parser reads the same body
    /// as an object whose only member is `"ip"` with that string (the API
    /// relies on this to skip lua-cjson). Bodies are random strings of JSON
    /// tokens and near misses, so that many are accepted and many are not.
    #[test]
    fn json_ip_agrees_with_a_full_parser() {
        const TOKENS: [&str; 24] = [
            "{",
            "}",
            "\"ip\"",
            "\"db\"",
            "\"ips\"",
            ":",
            ",",
            " ",
            "\n",
            "\t",
            "\"",
            "1.2.3.4",
            "::1",
            "a b",
            "\\",
            "\\u0031",
            "[",
            "]",
            "null",
            "7",
            "\u{1}",
            "é",
            "\"ip\":",
            "\"1.2.3.4\"",
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let (mut accepted, mut total) = (0, 0);
        for _ in 0..200_000 {
            // Half the bodies start from the accepted shape, mutated.
            let mut body = String::new();
            if next() % 2 == 0 {
                const CONTENT: [&str; 9] = [
                    "1.2.3.4", "::1", "a b", "\\", "\\u0031", "\\\"", "é", "\u{1}", "",
                ];
                let content = CONTENT[(next() % CONTENT.len() as u64) as usize];
                let parts = ["{", "\"ip\"", ":", "\"", content, "\"", "}"];
                for (i, p) in parts.iter().enumerate() {
                    if next() % 8 == 0 {
                        body.push_str(TOKENS[(next() % TOKENS.len() as u64) as usize]);
                    }
                    if next() % 16 != i as u64 {
                        body.push_str(p);
                    }
                }
            } else {
                for _ in 0..(next() % 9) {
                    body.push_str(TOKENS[(next() % TOKENS.len() as u64) as usize]);
                }
            }
            total += 1;
            let Some((at, n)) = json_ip(body.as_bytes()) else {
                continue;
            };
            accepted += 1;
            let parsed: serde_json::Value = serde_json::from_str(&body).unwrap_or_else(|e| {
                panic!("json_ip accepted {body:?}, a JSON parser refused it: {e}")
            });
            let obj = parsed.as_object().expect("an object");
            assert_eq!(obj.len(), 1, "{body:?}");
            assert_eq!(
                obj.get("ip").and_then(|v| v.as_str()),
                Some(&body[at..at + n]),
                "{body:?}"
            );
        }
        assert!(
            accepted > total / 10,
            "only {accepted} of {total} accepted: the test lost its point"
        );
    }

    #[test]
    fn decimal_reads_plain_digits_only() {
        let d = |t: &str| unsafe { ipgeo_decimal(t.as_ptr().cast(), t.len()) };
        assert_eq!(d("0"), 0);
        assert_eq!(d("65536"), 65536);
        assert_eq!(d("999999999999999"), 999_999_999_999_999);
        for bad in ["", "1000000000000000", "-1", "1 ", "0x10", "1e3"] {
            assert_eq!(d(bad), -1, "{bad}");
        }
        assert_eq!(unsafe { ipgeo_decimal(std::ptr::null(), 3) }, -1);
    }

    #[test]
    fn head_is_the_start_of_the_answer_object() {
        let net = Network {
            addr: "1.2.3.0".parse().unwrap(),
            prefix: 24,
        };
        let mut out = [0u8; HEAD_CAP];
        let n = write_head(&mut out, b"1.2.3.4", &net).unwrap();
        assert_eq!(&out[..n], br#"{"ip":"1.2.3.4","network":"1.2.3.0/24""#);
        let long = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255";
        assert_eq!(long.len(), addr::MAX_LEN);
        let net6 = Network {
            addr: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff".parse().unwrap(),
            prefix: 128,
        };
        let n = write_head(&mut out, long.as_bytes(), &net6).expect("HEAD_CAP suffices");
        for short in 0..n {
            assert_eq!(write_head(&mut out[..short], long.as_bytes(), &net6), None);
        }
    }
}
