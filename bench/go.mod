module github.com/gemhook/gemhook/bench

go 1.26.0

replace github.com/gemhook/gemhook => ../
