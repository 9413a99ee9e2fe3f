# <zone_id>/<name>/<type>, with the default set identifiers "blue" and "green"
terraform import bluegreen_switch.api Z0123456789ABCDEFGHIJ/api.example.com/A

# <zone_id>/<name>/<type>/<blue set_identifier>/<green set_identifier>
terraform import bluegreen_switch.api Z0123456789ABCDEFGHIJ/api.example.com/A/ec2/ecs

# The zone id may be spelled as Route 53 does, /hostedzone/<zone_id>
terraform import bluegreen_switch.api /hostedzone/Z0123456789ABCDEFGHIJ/api.example.com/A
