package main

import "github.com/cnnc-org/cnnc/backend/scs"

// scsFormatNote is what `cnnc version` says about the SCS data files it
// writes: the settings layout, version string and integer size of
// backend/scs.NewFile (see backend/scs's package comment for why).
var scsFormatNote = scs.FormatNote()
