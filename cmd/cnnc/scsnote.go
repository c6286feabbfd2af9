package main

// scsFormatNote is what `cnnc version` says about the SCS data files it writes.
// The export issue replaces it with the writer's own constants.
var scsFormatNote = "scs data files: not yet written by this build"
