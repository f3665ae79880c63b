//! Test helpers: synthetic MMDB files.

use super::METADATA_MARKER;

/// Encodes one node.
pub(crate) fn node(rs: u16, l: u32, r: u32) -> Vec<u8> {
    let (lb, rb) = (l.to_be_bytes(), r.to_be_bytes());
    match rs {
        24 => vec![lb[1], lb[2], lb[3], rb[1], rb[2], rb[3]],
        28 => vec![
            lb[1],
            lb[2],
            lb[3],
            (lb[0] << 4) | (rb[0] & 0x0f),
            rb[1],
            rb[2],
            rb[3],
        ],
        _ => [lb, rb].concat(),
    }
}

/// A database of `nodes`, a data section and a minimal metadata map.
pub(crate) fn build(ip_version: u8, rs: u16, nodes: &[(u32, u32)], data: &[u8]) -> Vec<u8> {
    let mut b: Vec<u8> = nodes.iter().flat_map(|(l, r)| node(rs, *l, *r)).collect();
    b.extend([0u8; 16]);
    b.extend(data);
    b.extend(METADATA_MARKER);
    let nc = (nodes.len() as u32).to_be_bytes();
    let pairs: [(&str, Vec<u8>); 7] = [
        ("binary_format_major_version", vec![0xa1, 2]),
        ("binary_format_minor_version", vec![0xa0]),
        ("build_epoch", vec![0x04, 0x02, 0x65, 0, 0, 0]),
        ("database_type", b"\x44Test".to_vec()),
        ("ip_version", vec![0xa1, ip_version]),
        ("node_count", vec![0xc4, nc[0], nc[1], nc[2], nc[3]]),
        ("record_size", vec![0xa1, rs as u8]),
    ];
    b.push(0xe7);
    for (k, v) in pairs {
        b.push(0x40 | k.len() as u8);
        b.extend(k.as_bytes());
        b.extend(v);
    }
    b
}

/// A complete IPv4 tree of depth `depth` (heap-numbered nodes) whose
/// `2^depth` leaves are data records at the given offsets, over `data`.
pub(crate) fn complete_tree(depth: u32, leaves: &[u32], data: &[u8]) -> Vec<u8> {
    let inner = (1u32 << depth) - 1;
    assert_eq!(leaves.len(), 1 << depth);
    let nodes: Vec<(u32, u32)> = (0..inner)
        .map(|i| {
            let child = |c: u32| {
                if c < inner {
                    c
                } else {
                    inner + 16 + leaves[(c - inner) as usize]
                }
            };
            (child(2 * i + 1), child(2 * i + 2))
        })
        .collect();
    build(4, 32, &nodes, data)
}
