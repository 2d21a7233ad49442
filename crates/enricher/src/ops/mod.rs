//! Operations on the customer database an operator runs by hand or on a
//! schedule: the data-quality report (`dq`), the archive of orphan rows
//! (`archive`) and the maintenance loop's pruning (`maintenance`).

pub mod archive;
pub mod dq;
pub mod maintenance;
pub mod ropa;
pub mod subject_export;
