std = "ngx_lua"
max_line_length = 120
files["t/"] = { std = "+busted" }
