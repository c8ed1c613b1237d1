//! Entry points for fuzz targets and property tests: each feeds arbitrary bytes to one
//! parser and walks everything it returns. They must never panic.
#![doc(hidden)]

use crate::capture::RecordReader;
use crate::observe_frame;

/// Every link type the decoders know, plus one they do not.
pub const LINK_TYPES: [u16; 11] = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 999];

/// Decode `data` as a frame of every link type.
pub fn frame(data: &[u8]) {
    for lt in LINK_TYPES {
        let _ = observe_frame(lt, data, 0, data.len() as u32);
    }
}

/// Read `data` as a capture file and decode every record; returns how many records were read.
pub fn capture(data: &[u8]) -> u64 {
    let Ok(mut reader) = RecordReader::open(data) else {
        return 0;
    };
    let mut n = 0;
    while let Some(item) = reader.next() {
        match item {
            Ok(rec) => {
                n += 1;
                let _ = observe_frame(rec.link_type, rec.data, rec.ts_ns, rec.wire_len);
            }
            Err(e) if e.fatal => break,
            Err(_) => {}
        }
    }
    n
}
