//! Collecting agents (issue 13): see below.
