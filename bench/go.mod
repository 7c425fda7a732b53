module github.com/parapet-sec/parapet/bench

go 1.26
