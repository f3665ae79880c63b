//! Constants and layout of the ipgeo table file, format version 1.
//!
//! `docs/FORMAT.md` describes the format byte by byte; this module is its
//! executable form, shared by the writer ([`crate::build`]) and the reader
//! ([`crate::table`]). All integers are little-endian. Every section starts
//! at a multiple of [`ALIGN`] bytes.

/// The first eight bytes of every table.
pub const MAGIC: [u8; 8] = *b"IPGEOTBL";
/// The format version this crate reads and writes.
pub const VERSION: u32 = 1;
/// Written as a little-endian `u32`; read back as this value only by a reader
/// that decodes the file with the right byte order.
pub const ENDIAN_CHECK: u32 = 0x0A0B_0C0D;
/// Size of the fixed header.
pub const HEADER_SIZE: usize = 128;
/// Size of one section directory entry.
pub const DIR_ENTRY_SIZE: usize = 32;
/// Alignment of every section.
pub const ALIGN: usize = 64;
/// The bytes of the header that hold the checksum; the checksum is computed
/// over the whole file with these bytes taken as zero.
pub const CHECKSUM_RANGE: std::ops::Range<usize> = 24..32;

/// Header field offsets.
pub mod hdr {
    /// `[u8; 8]` magic.
    pub const MAGIC: usize = 0;
    /// `u32` format version.
    pub const VERSION: usize = 8;
    /// `u32` endianness check.
    pub const ENDIAN: usize = 12;
    /// `u64` total file size.
    pub const FILE_SIZE: usize = 16;
    /// `u64` XXH3-64 checksum.
    pub const CHECKSUM: usize = 24;
    /// `u32` header size.
    pub const HEADER_SIZE: usize = 32;
    /// `u32` number of sections.
    pub const SECTION_COUNT: usize = 36;
    /// `u64` offset of the section directory.
    pub const DIR_OFFSET: usize = 40;
    /// `u64` build time, Unix seconds.
    pub const BUILD_TIME: usize = 48;
}

/// Highest number of sections a reader accepts.
pub const MAX_SECTIONS: u32 = 64;
/// Highest number of columns (bits of a record's presence word).
pub const MAX_COLUMNS: usize = 64;
/// Bits of the address prefix that selects a slot. Each family's address
/// space is cut into `2^SLOT_BITS` slots; ranges are stored per slot, with
/// keys relative to the slot's first address, and the root index node has one
/// entry per slot.
pub const SLOT_BITS: u32 = 16;
/// Number of slots (and root entries) per family.
pub const SLOTS: usize = 1 << SLOT_BITS;
/// Index entry flag: a child node, not a leaf. The node has `2^k` entries
/// (`k` in bits 26..=30) starting at the entry offset in bits 0..=25 of the
/// buckets section.
pub const NODE: u32 = 0x8000_0000;
/// Child node entry: shift to reach `k`.
pub const NODE_K_SHIFT: u32 = 26;
/// Child node entry: mask for `k` after shifting.
pub const NODE_K_MASK: u32 = 0x1F;
/// Child node entry: mask of the node's first entry offset.
pub const NODE_BASE_MASK: u32 = (1 << 26) - 1;
/// Largest `k` of a child node.
pub const MAX_K: u32 = 20;
/// Leaf flag: the leaf's whole span lies in one range, and bits 0..=29 hold
/// that range's record reference. A leaf without it holds, in bits 0..=29,
/// the index of the range containing the first address of its span.
pub const DIRECT: u32 = 0x4000_0000;
/// Mask of a leaf's value.
pub const LEAF_MASK: u32 = DIRECT - 1;
/// A record reference meaning "no data".
pub const REC_NONE: u32 = 0;
/// In the IPv6 range table, a reference with this bit set names a split /64
/// (index in the low bits) instead of a record.
pub const REC_SPLIT: u32 = 0x8000_0000;
/// Size of an IPv4 range entry: `u16` start (the low 16 bits; the slot gives
/// the rest), `u32` record.
pub const V4_ENTRY: usize = 6;
/// Size of an IPv6 range entry: a 48-bit start (bits 16..64 of the address;
/// the slot gives bits 0..16, and ranges start on /64 boundaries), `u32`
/// record.
pub const V6_ENTRY: usize = 10;
/// Size of an IPv6 low entry: `u64` low half of the start, `u32` record.
pub const V6_LOW_ENTRY: usize = 12;
/// Size of a country directory entry: `u32` first record reference, two
/// code bytes, two zero bytes.
pub const COUNTRY_ENTRY: usize = 8;
/// Size of an alias entry: `u128` prefix, `u8` length, 15 bytes of zeros.
pub const ALIAS_ENTRY: usize = 32;
/// Size of a column entry.
pub const COLUMN_ENTRY: usize = 4;
/// Column `lang` byte meaning "not a localised column".
pub const NO_LANG: u8 = 0xFF;

/// Section kinds. Unknown kinds are ignored by readers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u32)]
pub enum Kind {
    /// Build metadata, UTF-8 JSON.
    Meta = 1,
    /// Column definitions, [`COLUMN_ENTRY`] bytes each.
    Columns = 2,
    /// The string pool.
    Strings = 3,
    /// Records.
    Records = 4,
    /// IPv4 root index node, [`SLOTS`] `u32` entries.
    V4Root = 5,
    /// IPv4 child index nodes, `u32` entries.
    V4Buckets = 6,
    /// IPv4 ranges, [`V4_ENTRY`] bytes each.
    V4Ranges = 7,
    /// IPv6 root index.
    V6Root = 8,
    /// IPv6 bucket index.
    V6Buckets = 9,
    /// IPv6 ranges over the high 64 bits, [`V6_ENTRY`] bytes each.
    V6Ranges = 10,
    /// Split /64 directory: `count + 1` `u32` offsets into the low entries.
    V6Splits = 11,
    /// Ranges inside split /64s, [`V6_LOW_ENTRY`] bytes each.
    V6Low = 12,
    /// IPv6 prefixes answered from the IPv4 table, [`ALIAS_ENTRY`] bytes each.
    Aliases = 13,
    /// IPv4 slot directory: [`SLOTS`] + 1 `u32`, the first range of each slot.
    V4Slots = 14,
    /// IPv6 slot directory.
    V6Slots = 15,
    /// Country directory: records are grouped by country code; each
    /// [`COUNTRY_ENTRY`]-byte entry is the first record reference of a run
    /// (rising) and its two-letter code (zeros: none).
    Countries = 16,
    /// IPv4 country slot directory: [`SLOTS`] + 1 `u32`, the first
    /// [`Kind::V4Countries`] entry of each slot (optional, with it).
    V4CountrySlots = 17,
    /// IPv4 country ranges: `u32` entries, start (low 16 bits of the address)
    /// in bits 16..32, two-letter code in bits 0..16 (zero: none).
    V4Countries = 18,
}

impl Kind {
    /// Every kind, in file order.
    pub const ALL: [Kind; 18] = [
        Kind::Meta,
        Kind::Columns,
        Kind::Strings,
        Kind::Records,
        Kind::V4Root,
        Kind::V4Buckets,
        Kind::V4Ranges,
        Kind::V6Root,
        Kind::V6Buckets,
        Kind::V6Ranges,
        Kind::V6Splits,
        Kind::V6Low,
        Kind::Aliases,
        Kind::V4Slots,
        Kind::V6Slots,
        Kind::Countries,
        Kind::V4CountrySlots,
        Kind::V4Countries,
    ];

    /// The kind with this number.
    pub fn from_u32(v: u32) -> Option<Kind> {
        Kind::ALL.iter().copied().find(|k| *k as u32 == v)
    }

    /// The section's name in error messages and `ipgeo info`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Meta => "meta",
            Kind::Columns => "columns",
            Kind::Strings => "strings",
            Kind::Records => "records",
            Kind::V4Root => "v4_root",
            Kind::V4Buckets => "v4_buckets",
            Kind::V4Ranges => "v4_ranges",
            Kind::V6Root => "v6_root",
            Kind::V6Buckets => "v6_buckets",
            Kind::V6Ranges => "v6_ranges",
            Kind::V6Splits => "v6_splits",
            Kind::V6Low => "v6_low",
            Kind::Aliases => "aliases",
            Kind::V4Slots => "v4_slots",
            Kind::V6Slots => "v6_slots",
            Kind::Countries => "countries",
            Kind::V4CountrySlots => "v4_country_slots",
            Kind::V4Countries => "v4_countries",
        }
    }

    /// Size of one element of the section, or 1 for byte sections.
    pub fn elem_size(self) -> usize {
        match self {
            Kind::Meta | Kind::Strings => 1,
            Kind::Columns => COLUMN_ENTRY,
            Kind::Records => 4,
            Kind::V4Root
            | Kind::V4Buckets
            | Kind::V6Root
            | Kind::V6Buckets
            | Kind::V6Splits
            | Kind::V4Slots
            | Kind::V6Slots
            | Kind::V4CountrySlots
            | Kind::V4Countries => 4,
            Kind::V4Ranges => V4_ENTRY,
            Kind::Countries => COUNTRY_ENTRY,
            Kind::V6Ranges => V6_ENTRY,
            Kind::V6Low => V6_LOW_ENTRY,
            Kind::Aliases => ALIAS_ENTRY,
        }
    }
}

/// How a column's values are stored in record slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum ColumnType {
    /// One slot: a byte offset into the string pool.
    Str = 1,
    /// One slot: the value.
    U32 = 2,
    /// One slot: the bits of an `f32`.
    F32 = 3,
    /// Two slots: the bits of an `f64`, low word first.
    F64 = 4,
}

impl ColumnType {
    /// The type with this number.
    pub fn from_u8(v: u8) -> Option<ColumnType> {
        match v {
            1 => Some(ColumnType::Str),
            2 => Some(ColumnType::U32),
            3 => Some(ColumnType::F32),
            4 => Some(ColumnType::F64),
            _ => None,
        }
    }

    /// Slots a value of this type takes.
    pub fn slots(self) -> usize {
        if self == ColumnType::F64 {
            2
        } else {
            1
        }
    }
}

/// Rounds `n` up to the next multiple of [`ALIGN`].
pub fn align_up(n: usize) -> Option<usize> {
    n.checked_add(ALIGN - 1).map(|v| v & !(ALIGN - 1))
}

/// Reads a little-endian `u32` at `off`, if in bounds.
#[inline(always)]
pub fn read_u32(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_le_bytes(s.try_into().ok()?))
}

/// Reads a little-endian `u16` at `off`, if in bounds.
#[inline(always)]
pub fn read_u16(b: &[u8], off: usize) -> Option<u16> {
    let s = b.get(off..off.checked_add(2)?)?;
    Some(u16::from_le_bytes(s.try_into().ok()?))
}

/// Reads a little-endian 48-bit unsigned integer at `off`, if in bounds.
#[inline(always)]
pub fn read_u48(b: &[u8], off: usize) -> Option<u64> {
    let s = b.get(off..off.checked_add(6)?)?;
    let mut w = [0u8; 8];
    w[..6].copy_from_slice(s);
    Some(u64::from_le_bytes(w))
}

/// Reads a little-endian `u64` at `off`, if in bounds.
#[inline(always)]
pub fn read_u64(b: &[u8], off: usize) -> Option<u64> {
    let s = b.get(off..off.checked_add(8)?)?;
    Some(u64::from_le_bytes(s.try_into().ok()?))
}

/// Reads a little-endian `u128` at `off`, if in bounds.
#[inline(always)]
pub fn read_u128(b: &[u8], off: usize) -> Option<u128> {
    let s = b.get(off..off.checked_add(16)?)?;
    Some(u128::from_le_bytes(s.try_into().ok()?))
}

/// Decodes an unsigned LEB128 varint of at most 5 bytes at `off`, returning
/// the value and the number of bytes it took.
#[inline]
pub fn read_varint(b: &[u8], off: usize) -> Option<(u32, usize)> {
    let mut v: u32 = 0;
    for i in 0..5 {
        let byte = *b.get(off.checked_add(i)?)?;
        let bits = u32::from(byte & 0x7F);
        if i == 4 && bits > 0x0F {
            return None;
        }
        v |= bits << (7 * i);
        if byte & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

/// Appends `v` as an unsigned LEB128 varint.
pub fn write_varint(out: &mut Vec<u8>, mut v: u32) {
    loop {
        let byte = (v & 0x7F) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_round_trip() {
        for v in [0u32, 1, 127, 128, 300, 16_383, 16_384, u32::MAX] {
            let mut b = vec![];
            write_varint(&mut b, v);
            assert_eq!(read_varint(&b, 0), Some((v, b.len())));
        }
        // Too long, or overflowing 32 bits.
        assert_eq!(read_varint(&[0x80; 6], 0), None);
        assert_eq!(read_varint(&[0xFF, 0xFF, 0xFF, 0xFF, 0x1F], 0), None);
        // Truncated.
        assert_eq!(read_varint(&[0x80], 0), None);
    }

    #[test]
    fn kinds_round_trip() {
        for k in Kind::ALL {
            assert_eq!(Kind::from_u32(k as u32), Some(k));
        }
        assert_eq!(Kind::from_u32(0), None);
        assert_eq!(align_up(0), Some(0));
        assert_eq!(align_up(1), Some(64));
        assert_eq!(align_up(64), Some(64));
        assert_eq!(align_up(usize::MAX), None);
    }
}
