pub mod serve;
pub mod tls;
