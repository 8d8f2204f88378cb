//! Tests of deepidv-mock over real HTTP on loopback: behaviour as documented, conformance to
//! openapi.yaml, faults, and the control API.

mod common;

mod behaviour;
mod binary;
mod conformance;
mod control;
mod faults;
