//! Host tests of the command parser.
