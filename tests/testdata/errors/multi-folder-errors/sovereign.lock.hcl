# A lock file is not part of the blueprint: its blocks are not checked here.
provider "x" {}
