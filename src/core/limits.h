/* Every limit mft applies to what a file may ask of it, in one place.
 * Each is a compile-time default that a handle may lower (mft_open_options
 * .limits, indexed by mft_limit); none may be raised past its default, so the
 * numbers here are the ceilings the code is tested with. */
#ifndef MFT_CORE_LIMITS_H
#define MFT_CORE_LIMITS_H

/* safetensors' reference reader refuses JSON headers over 100,000,000 bytes
 * (MAX_HEADER_SIZE); we take the same ceiling for every text header/index,
 * so a hostile length field cannot make us allocate more. */
#define MFT_DEFAULT_HEADER_BYTES 100000000ull

/* Tensors per file. The largest public checkpoints hold a few 10^5 tensors
 * (MoE models with per-expert weights); 2^24 leaves room and still bounds
 * the tables we allocate per tensor. */
#define MFT_DEFAULT_TENSORS (1ull << 24)

/* Dimensions of one tensor: numpy allows 64, so does the public API. */
#define MFT_DEFAULT_DIMS 64ull

/* Bytes in one tensor name or metadata key: names are paths of a few dozen
 * to a few hundred bytes; 64 KiB stops pathological keys early. */
#define MFT_DEFAULT_NAME_BYTES 65536ull

/* Nesting depth of a JSON header, and of GGUF arrays of arrays. safetensors
 * headers nest 3 deep; an index 3 deep; GGUF arrays 1 (ggml refuses more);
 * 64 keeps recursion bounded while accepting odd metadata. */
#define MFT_DEFAULT_JSON_DEPTH 64ull

/* Shard files in one HF sharded set (the largest public sets have a few
 * thousand). Each shard is a mapping, so this also bounds open files. */
#define MFT_DEFAULT_SHARDS 100000ull

/* Pickles (src/pickle): container nesting (Python's own unpickler is bounded
 * only by memory; real checkpoints nest < 50 deep), memo entries (one per
 * object in the largest whole-model pickles seen: ~10^6) and values created
 * in total (bounds time and memory against list/dict bombs). */
#define MFT_DEFAULT_PICKLE_DEPTH 10000ull
#define MFT_DEFAULT_PICKLE_MEMO (1ull << 22)
#define MFT_DEFAULT_PICKLE_ITEMS (1ull << 23)

/* Zip archives: members per archive (torch writes one per storage; the
 * largest checkpoints have ~10^5), and the bytes one deflated member may
 * inflate to. Deflate cannot exceed ~1032:1, so the absolute cap is what
 * stops a bomb; 16 GiB admits any real compressed .npz member. */
#define MFT_DEFAULT_ZIP_ENTRIES (1ull << 20)
#define MFT_DEFAULT_INFLATE_BYTES (1ull << 34)

/* One string or bytes value (a 1 GiB string is already absurd), and the
 * items of GGUF metadata arrays, counted over all of one file's arrays: each
 * item becomes a value node (~64 bytes with its pointer) from as little as
 * one byte of file, so 2^24 items bound the tree near 1 GiB. The largest
 * real vocabularies (2.6×10^5 tokens with their scores, types and merges)
 * use under 10^6. Every length and count is also checked against the bytes
 * actually left before allocating. */
#define MFT_DEFAULT_STRING_BYTES (1ull << 30)
#define MFT_DEFAULT_ARRAY_ITEMS (1ull << 24)

/* Chunk size for streaming tensor bytes through writers and digests: big
 * enough to run at memory bandwidth, small enough to keep memory flat. */
#define MFT_STREAM_CHUNK (8u << 20)

/* Bytes of a file looked at for content-based format detection. */
#define MFT_DETECT_BYTES 4096u

/* mft scan (src/scan). A scan needs only what a pickle imports and calls,
 * never the values, so its ceilings are lower than a reader's; a file past
 * one is reported (never SAFE), not read further. mft_scan_options may
 * lower them. Values per pickle (~80 bytes each: 2^21 bound a pickle's tree
 * near 170 MiB; the largest whole-model pickles create ~10^6) and memo
 * entries: */
#define MFT_SCAN_PICKLE_ITEMS (1ull << 21)
#define MFT_SCAN_PICKLE_MEMO (1ull << 20)
/* One string/bytes value: large ones are borrowed from the input, not
 * copied, so only the file's size bounds them. */
#define MFT_SCAN_STRING_BYTES (1ull << 40)
/* Members of one archive (torch writes one per storage: ~10^5 at most). */
#define MFT_SCAN_ZIP_ENTRIES (1ull << 18)
/* Bytes one compressed member, and all of a file's members together, are
 * inflated to (storages torch references are never inflated: they are not
 * pickles). */
#define MFT_SCAN_INFLATE_BYTES (1ull << 30)
#define MFT_SCAN_INFLATE_TOTAL (4ull << 30)
/* Archives inside archives (zip in zip …), pickles held in bytes/str values
 * (count, nesting, size), findings listed per file, pickle streams per
 * buffer, junk positions tried for a next stream, tar members, local
 * headers walked in a zip whose central directory is unusable. */
#define MFT_SCAN_CONTAINER_DEPTH 4
#define MFT_SCAN_EMBEDDED_MAX 64
#define MFT_SCAN_EMBEDDED_DEPTH 3
#define MFT_SCAN_EMBEDDED_BYTES (64ull << 20)
#define MFT_SCAN_FINDINGS_MAX 1000
#define MFT_SCAN_STREAMS_MAX 4096
#define MFT_SCAN_RESYNC_MAX 256
#define MFT_SCAN_TAR_MEMBERS 100000
#define MFT_SCAN_LOCAL_WALK 100000

#endif
