//! Tests of deepidv-mock over real HTTP on loopback: behaviour as documented, conformance to
//! openapi.yaml, faults, the control API, and webhook deliveries.

mod common;
mod receiver;

mod behaviour;
mod binary;
mod conformance;
mod control;
mod faults;
mod sessions;
mod webhook_order;
mod webhooks;
