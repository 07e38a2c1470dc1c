//! mfa-annotate: annotate Azure Multi-Factor Authentication (PhoneFactor) and Netop Remote Control
//! call/SMS result codes in log files with their descriptions, byte for byte.
//!
//! `callStatus=129` becomes `callStatus=129 (Mobile App Denied)`; every other byte is left as it was.
//!
//! The data flows one way, and each module owns one step:
//! - [`codes`]: the vendor's code table (number, description, kind).
//! - [`anchor`]: the SIMD prefilter that finds where a key may be.
//! - [`matcher`]: finding result-code fields in bytes ([`mod@reference`] is the same definition as a regex,
//!   kept for tests).
//! - [`template`]: the annotation text (`--format`).
//! - [`annotate`]: rewriting one buffer: insert, skip existing, strip.
//! - [`encoding`]: UTF-16 files in and out, losslessly.
//! - [`input`]: opening inputs: gzip, UTF-16 and binary detection.
//! - [`batch`]: many files: walking folders, in place or mirrored output, parallel files, progress.
//! - [`select`]: filters: which fields and lines are kept.
//! - [`report`]: stats, JSON records and code lookups.
//! - [`lines`]: line-oriented runs: filters, counts, line numbers, JSON, colour, stats.
//! - [`stream`]: reading big blocks, cutting them at line boundaries, writing and flushing.
//! - [`cut`]: where a long line without a cut byte may still be cut, so that memory stays bounded.
//! - [`testing`]: misbehaving readers for tests (not used by the tool).
//! - [`fault`]: fault injection for the reliability tests (debug builds only).
//!
//! ```
//! use mfa_annotate::annotate::{Annotator, Options};
//! let annotator = Annotator::new(&Options::default()).unwrap();
//! let out = annotator.rewrite_all(b"Call Status: 132\r\n");
//! assert_eq!(out, b"Call Status: 132 (Fraud Reported)\r\n");
//! ```

pub mod anchor;
pub mod annotate;
pub mod batch;
pub mod codes;
pub mod cut;
pub mod encoding;
pub mod fault;
pub mod input;
pub mod lines;
pub mod matcher;
pub mod reference;
pub mod report;
pub mod select;
pub mod stream;
pub mod template;
pub mod testing;
