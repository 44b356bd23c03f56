module deloc.test/faultproxy

go 1.22
