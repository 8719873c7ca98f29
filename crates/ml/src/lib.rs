//! # reviewlake-ml
//!
//! Models over the lake (work in progress: issue 9).
//!
//! **Architecture invariant:** algorithms are pure functions over in-memory data
//! (`ndarray`, plain vectors); only the stage module talks to the lake (through
//! `reviewlake-lake`), so every model can be tested and benchmarked without storage.

#![warn(missing_docs)]
