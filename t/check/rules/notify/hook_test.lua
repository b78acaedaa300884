-- hook_test.lua: a test file, which the rules directory skips.
return nil
